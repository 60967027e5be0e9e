"""Websocket sessions: upgrade, run the connect handler, feed frames to ``receive``, always run ``close``."""

from __future__ import annotations

import asyncio
import inspect
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from tomodachi.logging import framework_logger as get_logger  # no structlog import on the start path
from tomodachi.runtime.clock import Clock
from tomodachi.runtime.observe import Observer
from tomodachi.runtime.transport import BoundHandler
from tomodachi.transport.http.invoke import invoke_handler

ErrorSink = Callable[[BaseException, BoundHandler, str], None]


def _callbacks(result: Any) -> tuple[Callable[..., Any] | None, Callable[..., Any] | None]:
    """``receive``, ``(receive,)`` or ``(receive, close)`` as returned by the connect handler (``None`` allowed)."""
    if result is None:
        return None, None
    if callable(result):
        return result, None
    if isinstance(result, tuple | list) and len(result) <= 2 and all(item is None or callable(item) for item in result):
        receive = result[0] if len(result) > 0 else None
        close = result[1] if len(result) > 1 else None
        return receive, close
    raise TypeError(f"a websocket handler must return receive or (receive, close), got {type(result).__name__}")


async def _call(callback: Callable[..., Any], *args: Any) -> None:
    outcome = callback(*args)
    if inspect.isawaitable(outcome):
        await outcome


class WebsocketSessions:
    """The open websockets of one server, so shutdown can close each of them with a proper close frame."""

    def __init__(
        self,
        service: Any,
        clock: Clock,
        max_msg_size: int,
        on_error: ErrorSink,
        observers: Sequence[Observer] = (),
        heartbeat: float | None = None,
    ) -> None:
        self.service = service
        self.clock = clock
        self.observers = observers
        self.max_msg_size = max_msg_size
        self.heartbeat = heartbeat
        self.on_error = on_error
        self.active: set[web.WebSocketResponse] = set()

    async def close_all(self) -> None:
        sockets = [ws for ws in self.active if not ws.closed]
        await asyncio.gather(
            *(ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown") for ws in sockets),
            return_exceptions=True,
        )

    async def serve(
        self, request: web.Request, handler: BoundHandler, groups: Mapping[str, str | None]
    ) -> web.WebSocketResponse:
        """Upgrade ``request`` and run the session until either side closes (or the server shuts down)."""
        # aiohttp refuses a message of exactly max_msg_size; the option names the largest one accepted
        ws = web.WebSocketResponse(max_msg_size=self.max_msg_size + 1, heartbeat=self.heartbeat)
        if not ws.can_prepare(request).ok:
            raise web.HTTPBadRequest(text="expected a websocket upgrade request")
        await ws.prepare(request)
        logger = get_logger("tomodachi.http.response")
        websocket_id = uuid.uuid4().hex[:12]
        started = self.clock.monotonic()
        state = "closed"
        close: Callable[..., Any] | None = None
        self.active.add(ws)
        logger.info("", websocket_state="open", websocket_id=websocket_id, request_path=request.path)
        try:
            try:
                result = await invoke_handler(
                    self.service,
                    handler,
                    request,
                    groups=groups,
                    middleware_kwargs={"request": request},
                    fixed={"websocket": ws},
                    positional=(ws, request),
                    observers=self.observers,
                    clock=self.clock,
                )
                receive, close = _callbacks(result)
            except Exception as exc:
                state = "error"
                self.on_error(exc, handler, "websocket")
                await ws.close(code=WSCloseCode.INTERNAL_ERROR, message=b"internal error")
                return ws
            async for message in ws:
                if message.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                    break  # ERROR: the connection is broken
                if receive is None:
                    continue
                try:
                    await _call(receive, message.data)  # str for text frames, bytes for binary frames
                except Exception as exc:
                    self.on_error(exc, handler, "websocket receive")
        except asyncio.CancelledError:
            state = "cancelled"
            raise
        finally:
            self.active.discard(ws)
            if close is not None:
                try:
                    await _call(close)
                except Exception as exc:
                    self.on_error(exc, handler, "websocket close")
            if not ws.closed and state != "cancelled":
                await ws.close()
            logger.info(
                "",
                websocket_state=state,
                websocket_id=websocket_id,
                request_path=request.path,
                total_request_time=f"{self.clock.monotonic() - started:.5f}s",
            )
        return ws
