"""HTTP server spans and metrics: a pre-middleware (``_aiohttp_pre_middleware``) around each handler call; an
``http_error`` handler called for a request is a child of that request's span."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextvars import Token
from typing import Any

from aiohttp import web
from opentelemetry import trace
from opentelemetry.context import Context, attach, detach
from opentelemetry.util.http import ExcludeList

from tomodachi.logging import get_handler_context
from tomodachi.opentelemetry.telemetry import Attributes, HandlerMetrics, Telemetry, record_error
from tomodachi.transport.http.api import get_forwarded_remote_ip
from tomodachi.transport.http.resource import routed_match
from tomodachi.transport.http.response import HttpResponse

# where a request keeps its server span, so an http_error handler called for it becomes a child of that span
# (a typed request key where aiohttp has them, 3.13 on)
_REQUEST_KEY: Any = getattr(web, "RequestKey", None)
SPAN_KEY: Any = (
    _REQUEST_KEY("tomodachi.opentelemetry.span", trace.Span) if _REQUEST_KEY else "_tomodachi_opentelemetry_span"
)
DURATION_KEYS = ("http.request.method", "http.route", "url.scheme")
ACTIVE_KEYS = ("http.request.method", "url.scheme")


def response_status(value: object, default: int = 200) -> int:
    """The status code a handler's return value becomes (as the HTTP transport converts it); ``default`` where the
    value names none, 500 where it names an unusable one."""
    status: Any = default
    if isinstance(value, web.StreamResponse | HttpResponse):
        status = value.status
    elif isinstance(value, dict):
        status = value.get("status", default)
    elif isinstance(value, tuple | list) and len(value) in (2, 3):
        status = value[0]
    try:
        code = int(status.decode() if isinstance(status, bytes) else status)
    except (TypeError, ValueError, UnicodeDecodeError):
        return 500
    return code if 100 <= code <= 999 else 500


def _detail_attributes(request: web.BaseRequest) -> Attributes:
    """What only the span keeps (left out of metrics). Kept to the attributes the HTTP conventions require or that
    identify the client: each costs the SDK microseconds per span."""
    attributes: Attributes = {"url.path": request.path, "client.address": get_forwarded_remote_ip(request)}
    if request.query_string:
        attributes["url.query"] = request.query_string
    agent = request.headers.get("User-Agent")
    if agent:
        attributes["user_agent.original"] = agent
    return attributes


class HttpServerMiddleware:
    """One service's HTTP pre-middleware: a SERVER span per request (continuing a ``traceparent`` sent by the
    client), ``http.server.duration`` and ``http.server.active_requests``."""

    # marks the middlewares of this package (taken off again by uninstrument_service)
    opentelemetry_instrumentation = True
    passes_values_through = True  # nothing added or changed on the way to the handler (see tomodachi.handler_check)

    def __init__(self, telemetry: Telemetry, excluded_urls: ExcludeList | None = None) -> None:
        self.telemetry = telemetry
        self.excluded_urls = excluded_urls
        self.metrics = HandlerMetrics(
            telemetry.meter,
            "http.server",
            "inbound HTTP requests",
            DURATION_KEYS,
            duration_name="http.server.duration",
            active_name="http.server.active_requests",
            active_unit="{request}",
            active_keys=ACTIVE_KEYS,
        )

    async def __call__(
        self,
        handler: Callable[..., Awaitable[object]],
        service: object,
        request: web.Request,
        *,
        status_code: int | None = None,
    ) -> object:
        if self.excluded_urls is not None and self.excluded_urls.url_disabled(request.path):
            return await handler()
        if status_code is not None:
            parent = request.get(SPAN_KEY)
            if isinstance(parent, trace.Span) and self.telemetry.tracing:
                return await self._error_handler(handler, parent, status_code)
        return await self._request(handler, request, status_code)

    async def _request(
        self, handler: Callable[..., Awaitable[object]], request: web.Request, status_code: int | None
    ) -> object:
        telemetry = self.telemetry
        start = telemetry.now_ns()
        match = routed_match(request)
        route = match.route if match is not None else None
        attributes: Attributes = {"http.request.method": request.method, "url.scheme": request.scheme}
        if route is not None:
            attributes["http.route"] = route.pattern.pattern
        span: trace.Span | None = None
        token: Token[Context] | None = None
        if telemetry.tracing:
            context = telemetry.extract(request.headers)
            span = telemetry.tracer.start_span(
                f"{request.method} {route.pattern.pattern}" if route is not None else request.method,
                context=context,
                kind=trace.SpanKind.SERVER,
                attributes={**attributes, **_detail_attributes(request)},
                start_time=start,
            )
            request[SPAN_KEY] = span
            token = attach(trace.set_span_in_context(span, context))
        active = self.metrics.started(attributes) if telemetry.metrics else None
        status = 500
        failed = False
        try:
            result = await handler()
            websocket = route is not None and route.kind == "websocket"
            status = 101 if websocket else response_status(result, status_code or 200)
            return result
        except web.HTTPException as exc:
            status = exc.status
            raise
        except asyncio.CancelledError:
            status = 499  # the client went away (or the server is stopping) before the handler finished
            if span is not None:
                span.set_status(trace.Status(trace.StatusCode.ERROR, "cancelled before the handler finished"))
            raise
        except Exception as exc:
            failed = True
            if span is not None:
                record_error(span, exc)
            raise
        finally:
            end = telemetry.now_ns()
            if token is not None:
                detach(token)
            if span is not None:
                span.set_attribute("http.response.status_code", status)
                if status >= 500 and not failed and span.is_recording():
                    span.set_status(trace.Status(trace.StatusCode.ERROR))
                span.end(end_time=end)
            if active is not None:
                self.metrics.finished(active, attributes, (end - start) / 1e9, {"http.response.status_code": status})

    async def _error_handler(
        self, handler: Callable[..., Awaitable[object]], parent: trace.Span, status_code: int
    ) -> object:
        telemetry = self.telemetry
        name = get_handler_context().get("handler")
        attributes: Attributes = {"http.response.status_code": status_code}
        if name:
            attributes["code.function"] = str(name)
        span = telemetry.tracer.start_span(
            f"http_error {status_code}",
            context=trace.set_span_in_context(parent),
            kind=trace.SpanKind.INTERNAL,
            attributes=attributes,
            start_time=telemetry.now_ns(),
        )
        token = attach(trace.set_span_in_context(span))
        try:
            return await handler()
        except Exception as exc:
            record_error(span, exc)
            raise
        finally:
            detach(token)
            span.end(end_time=telemetry.now_ns())


__all__ = ["HttpServerMiddleware", "SPAN_KEY", "response_status"]
