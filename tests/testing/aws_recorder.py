"""An HTTP endpoint on 127.0.0.1 standing in for moto: answers moto's reset, refuses every AWS call, and records
the headers of every request (who signed it, with which credentials)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

REFUSAL = (
    b"<ErrorResponse><Error><Type>Sender</Type><Code>InvalidParameter</Code>"
    b"<Message>refused by the recording endpoint</Message></Error><RequestId>0</RequestId></ErrorResponse>"
)


@dataclass
class Recorded:
    url: str
    requests: list[dict[str, str]] = field(default_factory=list)  # headers of each AWS request, in order

    def aws_requests(self) -> list[dict[str, str]]:
        return [headers for headers in self.requests if "/moto-api/" not in headers.get(":path", "")]


@contextmanager
def recording_endpoint() -> Iterator[Recorded]:
    recorded = Recorded(url="")
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            with lock:
                recorded.requests.append({":path": self.path, **dict(self.headers.items())})
            if self.path.startswith("/moto-api/"):
                status, body = 200, b""
            else:
                status, body = 400, REFUSAL
            self.send_response(status)
            self.send_header("Content-Type", "text/xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _answer

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    recorded.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield recorded
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
