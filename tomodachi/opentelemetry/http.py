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
from opentelemetry.util.types import AttributeValue

from tomodachi.logging import get_handler_context
from tomodachi.opentelemetry.telemetry import Attributes, HandlerMetrics, Telemetry, record_error
from tomodachi.transport.http.api import get_forwarded_remote_ip
from tomodachi.transport.http.resource import routed_match
from tomodachi.transport.http.response import HttpResponse
from tomodachi.transport.http.routing import Route

# where a request keeps its server span, so an http_error handler called for it becomes a child of that span and
# is not measured as a request of its own (an invalid span when not tracing; a typed request key from aiohttp 3.13)
_REQUEST_KEY: Any = getattr(web, "RequestKey", None)
SPAN_KEY: Any = (
    _REQUEST_KEY("tomodachi.opentelemetry.span", trace.Span) if _REQUEST_KEY else "_tomodachi_opentelemetry_span"
)
DURATION_KEYS = ("http.request.method", "http.route", "url.scheme")
ACTIVE_KEYS = ("http.request.method", "url.scheme")
SERVER = trace.SpanKind.SERVER
STATUS_CODE = "http.response.status_code"


def response_status(value: object, default: int = 200) -> int:
    """The status code a handler's return value becomes (as the HTTP transport converts it); ``default`` where the
    value names none, 500 where it names an unusable one."""
    if isinstance(value, str | bytes) or value is None:  # the common bodies, decided before the other checks
        return default
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


class _RouteFacts:
    """What every request to one route (or to no route) shares, worked out once: the span's name and fixed
    attributes, the in-flight key and the duration attributes by status code."""

    __slots__ = ("scheme", "span_name", "attributes", "active", "durations", "websocket")

    def __init__(self, route: Route | None, method: str, scheme: str) -> None:
        self.scheme = scheme
        self.attributes: Attributes = {"http.request.method": method, "url.scheme": scheme}
        if route is not None:
            self.attributes["http.route"] = route.pattern.pattern
        self.span_name = f"{method} {route.pattern.pattern}" if route is not None else method
        self.active: tuple[AttributeValue, ...] = (method, scheme)  # in ACTIVE_KEYS order
        self.durations: dict[int, Attributes] = {}
        self.websocket = route is not None and route.kind == "websocket"

    def duration_attributes(self, status: int) -> Attributes:
        # the SDK copies what it keeps, so one dict per status code serves every measurement
        found = self.durations.get(status)
        if found is None:
            found = self.durations[status] = {**self.attributes, STATUS_CODE: status}
        return found


class HttpServerMiddleware:
    """One service's HTTP pre-middleware: a SERVER span per request (continuing a ``traceparent`` sent by the
    client), ``http.server.duration`` and ``http.server.active_requests``."""

    # marks the middlewares of this package (taken off again by uninstrument_service)
    opentelemetry_instrumentation = True
    passes_values_through = True  # nothing added or changed on the way to the handler (see tomodachi.handler_check)
    # alone, it may be called as ``middleware(next, service, request)`` around a plain route's handler: the call
    # the middleware chain would make (see tomodachi.transport.http.server)
    called_directly = True

    def __init__(
        self, telemetry: Telemetry, excluded_urls: ExcludeList | None = None, *, error_handlers: bool = True
    ) -> None:
        self.telemetry = telemetry
        self.excluded_urls = excluded_urls
        # only a service with http_error handlers needs the request to keep its span (see SPAN_KEY)
        self.error_handlers = error_handlers
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
        self._routes: dict[Route, _RouteFacts] = {}

    def _facts(self, route: Route | None, method: str, scheme: str) -> _RouteFacts:
        if route is None:  # not cached: the method of an unrouted request is whatever the client sent
            return _RouteFacts(None, method, scheme)
        found = self._routes.get(route)
        if found is None or found.scheme != scheme:
            found = self._routes[route] = _RouteFacts(route, method, scheme)
        return found

    async def __call__(
        self,
        handler: Callable[..., Awaitable[object]],
        service: object,
        request: web.Request,
        *,
        status_code: int | None = None,
    ) -> object:
        telemetry = self.telemetry
        if self.excluded_urls is not None and self.excluded_urls.url_disabled(request.path):
            return await handler()
        if status_code is not None:
            parent = request.get(SPAN_KEY)
            if parent is not None:  # an http_error handler for a request measured (and traced) here already
                if telemetry.tracing:
                    return await self._error_handler(handler, parent, status_code)
                return await handler()
        start = telemetry.now_ns()
        match = routed_match(request)
        facts = self._facts(match.route if match is not None else None, request.method, request.scheme)
        span: trace.Span | None = None
        token: Token[Context] | None = None
        if telemetry.tracing:
            context = telemetry.extract(request.headers)
            # every attribute in the one call: the SDK validates a mapping given at start in one pass (and
            # samplers see them), where each later set_attribute takes the span's lock again
            attributes = {
                **facts.attributes,
                "url.path": request.path,
                "client.address": get_forwarded_remote_ip(request),
            }
            query = request.query_string
            if query:
                attributes["url.query"] = query
            agent = request.headers.get("User-Agent")
            if agent:
                attributes["user_agent.original"] = agent
            span = telemetry.tracer.start_span(
                facts.span_name, context=context, kind=SERVER, attributes=attributes, start_time=start
            )
            token = attach(trace.set_span_in_context(span, context))
        if self.error_handlers:
            request[SPAN_KEY] = span if span is not None else trace.INVALID_SPAN
        measuring = telemetry.metrics
        if measuring:
            counts = self.metrics.active.counts
            counts[facts.active] = counts.get(facts.active, 0) + 1
        status = 500
        failed = False
        try:
            result = await handler()
            status = 101 if facts.websocket else response_status(result, status_code or 200)
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
                span.set_attribute(STATUS_CODE, status)
                if status >= 500 and not failed and span.is_recording():
                    span.set_status(trace.Status(trace.StatusCode.ERROR))
                span.end(end_time=end)
            if measuring:
                self.metrics.active.counts[facts.active] -= 1
                self.metrics.duration.record((end - start) / 1e9, facts.duration_attributes(status))

    async def _error_handler(
        self, handler: Callable[..., Awaitable[object]], parent: trace.Span, status_code: int
    ) -> object:
        telemetry = self.telemetry
        name = get_handler_context().get("handler")
        attributes: Attributes = {STATUS_CODE: status_code}
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
