"""Slow-client limits: a connection must deliver each request's headers in time, and a body must keep flowing.

Both run on the event loop's real time, not the service's Clock: they bound real socket I/O, which a virtual
clock that a test never advances would otherwise leave unbounded."""

from __future__ import annotations

import asyncio
import functools
from typing import Any, cast

from aiohttp import web
from aiohttp.streams import StreamReader
from aiohttp.web_protocol import RequestHandler

from tomodachi.logging import framework_logger as get_logger

REQUEST_TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n"
    b"Content-Length: 20\r\n\r\n408: Request Timeout"
)


class RequestBodyTimeout(Exception):
    """Raised to whoever reads a request body that stopped arriving for ``http.read_timeout`` seconds."""


class GuardedRequestHandler(RequestHandler):
    """aiohttp's per-connection protocol, plus a header deadline.

    The deadline runs from the connection's start, and again from the end of each response on a kept-alive
    connection, until a complete header block has arrived. Counting the whole block (not the gap between bytes)
    is what stops a client trickling one header byte at a time from holding a connection forever.
    """

    header_timeout: float | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timer: asyncio.TimerHandle | None = None
        self._header_deadline = 0.0
        self._unanswered = 0  # requests parsed and not yet answered (pipelined requests queue up)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._arm_header_deadline()

    def data_received(self, data: bytes) -> None:
        parsed = self._request_count
        super().data_received(data)
        self._unanswered += self._request_count - parsed

    def connection_lost(self, exc: BaseException | None) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None
        super().connection_lost(exc)

    def request_done(self) -> None:
        """The response went out; a kept-alive connection now owes the next request's headers in time."""
        self._unanswered = max(0, self._unanswered - 1)
        if self.transport is not None and not self.transport.is_closing():
            self._arm_header_deadline()

    def _arm_header_deadline(self) -> None:
        # one timer per connection, moved lazily: re-arming after every response costs no timer of its own
        if self.header_timeout:
            self._header_deadline = self._loop.time() + self.header_timeout
            if self._header_timer is None:
                self._header_timer = self._loop.call_at(self._header_deadline, self._header_deadline_passed)

    def _header_deadline_passed(self) -> None:
        self._header_timer = None
        transport = self.transport
        if self._unanswered or transport is None or transport.is_closing():
            return  # a request is being handled: its end arms the deadline again
        if self._loop.time() < self._header_deadline:
            self._header_timer = self._loop.call_at(self._header_deadline, self._header_deadline_passed)
            return
        peer = transport.get_extra_info("peername")
        get_logger("tomodachi.http").info(
            "request headers not received in time: connection closed with 408",
            remote_ip=str(peer[0]) if isinstance(peer, tuple) and peer else None,
            header_timeout=self.header_timeout,
        )
        transport.write(REQUEST_TIMEOUT_RESPONSE)
        self.force_close()
        transport.close()


class GuardedServer(web.Server):
    """aiohttp's connection factory, making :class:`GuardedRequestHandler` protocols."""

    header_timeout: float | None = None

    def __call__(self) -> RequestHandler:
        handler = GuardedRequestHandler(self, loop=self._loop, **self._kwargs)
        handler.header_timeout = self.header_timeout
        return handler


class GuardedAppRunner(web.AppRunner):
    """An ``AppRunner`` whose connections carry the header deadline and whose requests are ``request_class``."""

    def __init__(
        self,
        app: web.Application,
        *,
        header_timeout: float | None,
        request_class: type[web.Request] = web.Request,
        **kwargs: Any,
    ) -> None:
        super().__init__(app, **kwargs)
        self._header_timeout = header_timeout
        self._request_class = request_class

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        server.__class__ = GuardedServer
        cast(GuardedServer, server).header_timeout = self._header_timeout
        server.request_factory = functools.partial(self.app._make_request, _cls=self._request_class)
        return server


def request_done(request: web.BaseRequest) -> None:
    """Re-arm the connection's header deadline once a response has been sent."""
    protocol = request.protocol
    if isinstance(protocol, GuardedRequestHandler):
        protocol.request_done()


class BodyWatch:
    """Fails a request body's readers with :class:`RequestBodyTimeout` once no byte has arrived for
    ``read_timeout`` seconds (the gap between bytes, so a large upload on a slow link is fine)."""

    def __init__(self, content: StreamReader, read_timeout: float) -> None:
        self._content = content
        self._read_timeout = read_timeout
        self._seen: int = content.total_bytes
        self._handle: asyncio.TimerHandle | None = asyncio.get_running_loop().call_later(read_timeout, self._check)

    def cancel(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _check(self) -> None:
        self._handle = None
        content = self._content
        if content.is_eof() or content.exception() is not None:
            return
        if content.total_bytes == self._seen:
            content.set_exception(RequestBodyTimeout(f"no request body received for {self._read_timeout:g}s"))
            return
        self._seen = content.total_bytes
        self._handle = asyncio.get_running_loop().call_later(self._read_timeout, self._check)


def watch_body(request: web.BaseRequest, read_timeout: float | None) -> BodyWatch | None:
    """A :class:`BodyWatch` on the request's body, or None when there is nothing left to wait for."""
    if not read_timeout or not request.body_exists or request.content.is_eof():
        return None
    return BodyWatch(request.content, read_timeout)
