"""Request dispatch: route → handler (or static file / websocket) → response, with error handling and access log."""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from tomodachi.logging import framework_logger as get_logger  # no structlog import on the start path
from tomodachi.logging.context import HandlerContext
from tomodachi.messaging.publish_scope import discard_scope, open_scope, settle_scope
from tomodachi.runtime.environment import Environment
from tomodachi.runtime.transport import BoundHandler
from tomodachi.transport.http.access_log import AccessLog, should_log
from tomodachi.transport.http.api import get_forwarded_remote_ip
from tomodachi.transport.http.convert import to_response
from tomodachi.transport.http.invoke import invoke_handler
from tomodachi.transport.http.plain_call import PlainCall, plain_call
from tomodachi.transport.http.resource import RoutedMatchInfo
from tomodachi.transport.http.routing import Route, Router
from tomodachi.transport.http.settings import HttpSettings
from tomodachi.transport.http.static import resolve_file
from tomodachi.transport.http.timeouts import RequestBodyTimeout, request_done, watch_body
from tomodachi.transport.http.websocket_sessions import WebsocketSessions


@dataclass
class _Connection:
    opened: float
    requests: int = 0


@dataclass
class ServerState:
    """Mutable bookkeeping shared by dispatch and shutdown."""

    stopping: bool = False
    in_flight: set[asyncio.Task[Any]] = field(default_factory=set)
    # keep-alive bookkeeping per connection (aiohttp's RequestHandler); pruned when connections go away
    connections: dict[Any, _Connection] = field(default_factory=dict)


class HttpApp:
    """Everything that happens to one request; the aiohttp application calls ``middleware`` for every request."""

    def __init__(
        self,
        *,
        service: Any,
        settings: HttpSettings,
        environment: Environment,
        router: Router,
        error_handlers: Mapping[int, BoundHandler],
        static_roots: Mapping[str, Path],
        access_log: AccessLog,
    ) -> None:
        self.service = service
        self.settings = settings
        self.environment = environment
        self.router = router
        self.error_handlers = dict(error_handlers)
        self.static_roots = dict(static_roots)
        self.access_log = access_log
        self.plain_calls: dict[Route, PlainCall] = {}
        for route in router.routes:
            found = plain_call(route)
            if found is not None:
                self.plain_calls[route] = found
        # requests in flight and served, as the execution context reports them (kept on the Environment)
        self.tasks = environment.execution.counter("http")
        self.state = ServerState()
        self.service_name = str(getattr(service, "name", "") or type(service).__name__)
        self._never_keep_alive = not settings.keepalive
        self._keepalive_limits = bool(settings.max_keepalive_requests or settings.max_keepalive_time)
        self._keep_alive_header = f"timeout={int(settings.keepalive_timeout)}" + (
            f", max={settings.max_keepalive_requests}" if settings.max_keepalive_requests else ""
        )
        self.websockets = WebsocketSessions(
            service,
            environment.clock,
            settings.websocket_max_message_size,
            on_error=self.handler_failed,
            observers=environment.observers,
            heartbeat=settings.websocket_heartbeat,
        )

    # -- aiohttp hooks ---------------------------------------------------------------------------------------

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        """Entry point of every request: the service's one aiohttp resource resolved it with our router."""
        timed = self.access_log.enabled  # times are taken for the access log only
        started = self.environment.clock.monotonic() if timed else 0.0
        task = asyncio.current_task()
        in_flight = self.state.in_flight
        if task is not None:
            in_flight.add(task)
        counter = self.tasks
        counter.current += 1
        counter.total += 1
        body_watch = watch_body(request, self.settings.read_timeout) if request.body_exists else None
        route: Route | None = None
        try:
            handler_elapsed: float | None = None
            if self.state.stopping:
                response: web.StreamResponse = web.Response(status=503, text="503: Service Unavailable")
            else:
                response, route, handler_elapsed = await self._respond(request, timed)
            if type(response) is not web.Response and isinstance(response, web.WebSocketResponse):
                return response
            status = response.status
            replaced: int | None = None
            try:
                await response.prepare(request)
                await response.write_eof()
                if type(response) is web.FileResponse:  # a handler's own: aiohttp must not send it a second time
                    response.__class__ = _StaticFile
            except (ConnectionError, asyncio.CancelledError) as exc:
                replaced, status = status, 499
                get_logger("tomodachi.http.response").info(
                    "client disconnected during writing", request_path=request.path, status_code=status
                )
                if isinstance(exc, asyncio.CancelledError):
                    raise
            except Exception as exc:
                replaced, status = status, 500
                response = await self._send_failed(request, response, exc, route)
            if timed:
                ignore = route.handler.spec.args.get("ignore_logging", False) if route is not None else False
                if should_log(ignore, status):
                    self._log_access(request, response, status, replaced, handler_elapsed, started)
            return response
        finally:
            if body_watch is not None:
                body_watch.cancel()
            request_done(request)
            counter.current -= 1
            if task is not None:
                in_flight.discard(task)

    def _log_access(
        self,
        request: web.Request,
        response: web.StreamResponse,
        status: int,
        replaced: int | None,
        handler_elapsed: float | None,
        started: float,
    ) -> None:
        fields = self.access_log.record(
            request,
            status=status,
            replaced_status=replaced,
            remote_ip=get_forwarded_remote_ip(request, self.settings),
            response_length=response.content_length,
            handler_elapsed=handler_elapsed,
            request_time=self.environment.clock.monotonic() - started,
        )
        self.access_log.write(fields, logging.WARNING if status >= 500 else logging.INFO)

    def request_class(self, application: web.Application) -> type[web.Request]:
        """The class of this service's requests: sets the response headers below as each response is prepared,
        called directly rather than through aiohttp's ``on_response_prepare`` signal (two coroutines a request)."""
        response_headers = self.response_headers

        class ServiceRequest(web.Request):
            async def _prepare_hook(self, response: web.StreamResponse) -> None:
                response_headers(self, response)
                if application.on_response_prepare:  # signals someone else added to the application
                    await super()._prepare_hook(response)

        return ServiceRequest

    def response_headers(self, request: web.BaseRequest, response: web.StreamResponse) -> None:
        """``Server`` header on every response; keep-alive policy from the options."""
        settings = self.settings
        headers = response.headers
        headers["Server"] = settings.server_header
        if response.status == 101 or isinstance(response, web.WebSocketResponse):
            return
        close = self._never_keep_alive or self.state.stopping or response.keep_alive is False
        if not close and self._keepalive_limits and request.protocol is not None:
            connection = self.state.connections.get(request.protocol)
            if connection is None:
                self._prune_connections()
                connection = _Connection(opened=self.environment.clock.monotonic())
                self.state.connections[request.protocol] = connection
            connection.requests += 1
            if settings.max_keepalive_requests and connection.requests >= settings.max_keepalive_requests:
                close = True
            if settings.max_keepalive_time and (
                self.environment.clock.monotonic() - connection.opened >= settings.max_keepalive_time
            ):
                close = True
        if close:
            response.force_close()
            headers["Connection"] = "close"
            headers.pop("Keep-Alive", None)
            return
        headers["Connection"] = "keep-alive"
        headers["Keep-Alive"] = self._keep_alive_header

    def _prune_connections(self) -> None:
        gone = [protocol for protocol in self.state.connections if getattr(protocol, "transport", None) is None]
        for protocol in gone:
            del self.state.connections[protocol]

    # -- routing and handlers --------------------------------------------------------------------------------

    async def _respond(
        self, request: web.Request, timed: bool
    ) -> tuple[web.StreamResponse, Route | None, float | None]:
        """The response, the route that made it and (when ``timed``) the handler's time."""
        info = request.match_info
        match = info.match if type(info) is RoutedMatchInfo else self.router.match(request.method, request.path)
        route = match.route
        if route is None:
            error: web.HTTPException = (
                web.HTTPMethodNotAllowed(request.method, match.allowed) if match.allowed else web.HTTPNotFound()
            )
            return await self._error_response(request, error, None), None, None
        handler = route.handler
        plain = self.plain_calls.get(route)
        direct: Callable[..., Awaitable[object]] | None = None
        if plain is None:
            kind = handler.spec.kind
            if kind == "http_static":
                return self._static_file(route, match.groups.get("filename")), route, None
        else:
            around = getattr(self.service, "_aiohttp_pre_middleware", None)
            if self.environment.observers or getattr(self.service, "http_middleware", None):
                plain = None  # call records or a middleware chain: the general path does both
            elif around:
                # the one instrumentation middleware alone is called around the plain call, as the chain would
                # call it, without the chain's work per request
                direct = around[0] if len(around) == 1 and getattr(around[0], "called_directly", False) else None
                if direct is None:
                    plain = None
        if request.body_exists:
            content_length = request.content_length
            if content_length is not None and content_length > self.settings.client_max_size:
                too_large = web.HTTPRequestEntityTooLarge(self.settings.client_max_size, content_length)
                return await self._error_response(request, too_large, handler), route, None
        clock = self.environment.clock
        started = clock.monotonic() if timed else 0.0
        if plain is None and handler.spec.kind == "websocket":
            try:
                return await self.websockets.serve(request, handler, match.groups), route, None
            except Exception as exc:
                self.handler_failed(exc, handler, "http")
                return await self._error_response(request, exc, handler), route, clock.monotonic() - started
        # the request is a unit of work: what its handler published is confirmed before the response says so
        scope = open_scope()
        try:
            try:
                if plain is not None:
                    context = plain.context.enter()
                    try:
                        if direct is not None:
                            value = await direct(plain.awaitable_call(request), self.service, request)
                        else:
                            value = plain.call(request)
                            if plain.returns_awaitable or inspect.isawaitable(value):
                                value = await value  # type: ignore[misc]
                    finally:
                        HandlerContext.exit(context)
                else:
                    value = await invoke_handler(
                        self.service,
                        handler,
                        request,
                        groups=match.groups,
                        middleware_kwargs={"request": request},
                        positional=(request,),
                        observers=self.environment.observers,
                        clock=clock,
                    )
            except web.HTTPException:
                await settle_scope(scope)  # an HTTP exception is the response the handler chose
                raise
            await settle_scope(scope)
            response = to_response(value, self.settings)
        except web.HTTPException as exc:
            return await self._error_response(request, exc, handler), route, clock.monotonic() - started
        except RequestBodyTimeout:
            # the client stopped sending the body: answer 408 and do not keep a connection in that state
            timed_out = await self._error_response(
                request, web.HTTPRequestTimeout(text="408: Request Timeout"), handler
            )
            timed_out.force_close()
            return timed_out, route, clock.monotonic() - started
        except Exception as exc:
            self.handler_failed(exc, handler, "http")
            return await self._error_response(request, exc, handler), route, clock.monotonic() - started
        finally:
            discard_scope(scope)  # after a failure: nothing waits for its publishes (their broker still does)
        return response, route, (clock.monotonic() - started) if timed else None

    def _static_file(self, route: Route, filename: str | None) -> web.StreamResponse:
        root = self.static_roots[route.handler.name]
        path = resolve_file(root, filename)
        if path is None:
            return _exception_response(web.HTTPNotFound())
        if not os.access(path, os.R_OK):
            return _exception_response(web.HTTPForbidden())
        return _StaticFile(path)

    async def _error_response(
        self, request: web.Request, error: BaseException, origin: BoundHandler | None
    ) -> web.StreamResponse:
        """The response for a failed request: the matching ``http_error`` handler, else a plain error response.
        A failing error handler falls back to the 500 handler, then to a bare 500."""
        status = error.status if isinstance(error, web.HTTPException) else 500
        tried: set[int] = set()
        while status in self.error_handlers and status not in tried:
            tried.add(status)
            handler = self.error_handlers[status]
            try:
                value = await invoke_handler(
                    self.service,
                    handler,
                    request,
                    groups={},
                    middleware_kwargs={"request": request, "status_code": status},
                    positional=(request,),
                    observers=self.environment.observers,
                    clock=self.environment.clock,
                )
                return to_response(value, self.settings, default_status=status)
            except Exception as exc:
                self.handler_failed(exc, handler, "http_error")
                status = 500
        if isinstance(error, web.HTTPException) and status == error.status:
            return _exception_response(error)
        return web.Response(
            status=500, body=b"", content_type=self.settings.content_type, charset=self.settings.charset
        )

    async def _send_failed(
        self, request: web.Request, response: web.StreamResponse, exc: Exception, route: Route | None
    ) -> web.StreamResponse:
        """A response that raised while being sent: a 500 if nothing reached the client yet, else the connection
        is closed (a half-sent response cannot be repaired). Either way aiohttp is handed a finished response, so
        the error is logged once, here, instead of escaping to aiohttp's "Unhandled exception"."""
        name = route.handler.name if route is not None else None
        get_logger("exception").exception(
            f"uncaught exception while sending response: {exc}", handler=name, service=self.service_name
        )
        self.environment.report_error(exc, f"{self.service_name}.{name}" if name else self.service_name)
        if request.writer.output_size == 0:
            fallback = web.Response(status=500, body=b"", content_type=self.settings.content_type)
            fallback.force_close()
            try:
                await fallback.prepare(request)
                await fallback.write_eof()
                return fallback
            except Exception:  # the writer is unusable after all: close below
                pass
        if request.protocol is not None:
            request.protocol.force_close()
        return _Sent(status=500)

    def handler_failed(self, exc: BaseException, handler: BoundHandler, kind: str) -> None:
        """Log with traceback (never sent to the client) and report to the environment."""
        get_logger("exception").exception(
            f"uncaught exception: {exc}", handler=handler.name, type=f"tomodachi.{kind}", service=self.service_name
        )
        self.environment.report_error(exc, f"{self.service_name}.{handler.name}")


def _exception_response(error: web.HTTPException) -> web.Response:
    """A fresh response mirroring an aiohttp HTTP exception (the raised object itself may be shared)."""
    headers = {k: v for k, v in error.headers.items() if k.lower() not in ("content-length", "server")}
    return web.Response(status=error.status, reason=error.reason, body=error.body, headers=headers)


class _Sent(web.StreamResponse):
    """Stands in for a response that could not be sent: aiohttp has nothing left to do with it."""

    async def prepare(self, request: web.BaseRequest) -> Any:
        return None

    async def write_eof(self, data: bytes = b"") -> None:
        return None


class _StaticFile(web.FileResponse):
    """A file response our middleware sends itself (to log its status and size); aiohttp then prepares what the
    middleware returned once more, which a plain FileResponse does not survive (an AssertionError logged at
    ERROR for every static file)."""

    async def prepare(self, request: web.BaseRequest) -> Any:
        if self._eof_sent:
            return None
        return await super().prepare(request)
