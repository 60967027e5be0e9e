"""Example websocket service: a tiny chat room page at / and a websocket at /ws/<room>.

Run with ``tomodachi run examples/websocket_service.py`` and open http://localhost:9700/ in two browser tabs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

import tomodachi

PAGE = """<!doctype html>
<html>
<head><meta charset="utf-8"><title>tomodachi chat</title></head>
<body>
  <ul id="log"></ul>
  <form id="form"><input id="text" autocomplete="off"><button>send</button></form>
  <script>
    const ws = new WebSocket(`ws://${location.host}/ws/lobby`);
    const log = (line) => { const li = document.createElement("li"); li.textContent = line; document.getElementById("log").append(li); };
    ws.onmessage = (event) => log(event.data);
    ws.onclose = () => log("(disconnected)");
    document.getElementById("form").onsubmit = (event) => {
      event.preventDefault();
      const input = document.getElementById("text");
      ws.send(input.value);
      input.value = "";
    };
  </script>
</body>
</html>
"""


class ExampleWebsocketService(tomodachi.Service):
    name = "example-websocket-service"
    options = tomodachi.Options(http={"port": 9700})

    def __init__(self) -> None:
        self.rooms: dict[str, set[web.WebSocketResponse]] = {}

    @tomodachi.http("GET", r"/")
    async def page(self) -> tomodachi.HttpResponse:
        return tomodachi.HttpResponse(body=PAGE, content_type="text/html")

    @tomodachi.websocket(r"/ws/(?P<room>[a-z0-9-]+)")
    async def chat(
        self, websocket: web.WebSocketResponse, room: str
    ) -> tuple[Callable[[str | bytes], Awaitable[None]], Callable[[], Awaitable[None]]]:
        members = self.rooms.setdefault(room, set())
        members.add(websocket)

        async def receive(data: str | bytes) -> None:
            text = data if isinstance(data, str) else f"<{len(data)} bytes>"
            for member in list(members):
                if not member.closed:
                    await member.send_str(f"[{room}] {text}")

        async def close() -> None:
            # runs however the socket ends: client close, dropped connection or service shutdown
            members.discard(websocket)

        return receive, close
