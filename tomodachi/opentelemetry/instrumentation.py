"""``TomodachiInstrumentor``: instruments the service instances created while it is on (pre-middlewares, wrapped
lifecycle hooks; no transport changed), propagates trace context over the bus and puts trace ids on log records."""

from __future__ import annotations

import inspect
import os
import weakref
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, runtime_checkable

from opentelemetry import metrics, trace
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]
from opentelemetry.util.http import ExcludeList, parse_excluded_urls

from tomodachi import __version__ as tomodachi_version
from tomodachi.messaging.outgoing import add_header_provider, remove_header_provider
from tomodachi.opentelemetry import log_correlation
from tomodachi.opentelemetry.environment_variables import OTEL_PYTHON_TOMODACHI_EXCLUDED_URLS as EXCLUDED_URLS
from tomodachi.opentelemetry.propagation import PublishSpans
from tomodachi.opentelemetry.telemetry import SCOPE, Telemetry, measures, record_error
from tomodachi.service import LIFECYCLE_HOOKS, Service, discover_handlers

# the container runs every ``*__post_init_hook`` / ``*__post_teardown_hook`` method of a new (or stopped) instance
POST_INIT_HOOK = "_opentelemetry__post_init_hook"
POST_TEARDOWN_HOOK = "_opentelemetry__post_teardown_hook"
TELEMETRY_ATTRIBUTE = "_opentelemetry_telemetry"
# the service attribute each transport reads its pre-middleware (run before the user's middleware) from
PRE_MIDDLEWARE_ATTRIBUTES = {
    "http": "_aiohttp_pre_middleware",
    "amqp": "_amqp_message_pre_middleware",
    "aws_sns_sqs": "_awssnssqs_message_pre_middleware",
    "schedule": "_schedule_pre_middleware",
}


@runtime_checkable
class MetricsEndpoint(Protocol):
    """A meter provider that serves its metrics itself (the Prometheus one): started with the first service."""

    def serve_metrics(self) -> None: ...


@dataclass
class _Settings:
    tracer_provider: trace.TracerProvider | None = None
    meter_provider: metrics.MeterProvider | None = None
    excluded_urls: str | None = None


def _telemetry_of(service: object) -> Telemetry | None:
    found = getattr(service, TELEMETRY_ATTRIBUTE, None)
    return found if isinstance(found, Telemetry) else None


def _excluded(excluded_urls: str | None) -> ExcludeList | None:
    """URL path patterns that get no span: the argument, else OTEL_PYTHON_TOMODACHI_EXCLUDED_URLS, else
    OTEL_PYTHON_EXCLUDED_URLS (comma-separated regular expressions searched in the path)."""
    if excluded_urls is None:
        excluded_urls = os.environ.get(EXCLUDED_URLS, os.environ.get("OTEL_PYTHON_EXCLUDED_URLS", ""))
    return parse_excluded_urls(excluded_urls) if excluded_urls.strip() else None


def _middleware(
    transport: str, telemetry: Telemetry, excluded_urls: str | None, kinds: set[str]
) -> Callable[..., Awaitable[object]]:
    """The pre-middleware of ``transport`` for one service (whose handlers are of ``kinds``)."""
    if transport == "http":
        from tomodachi.opentelemetry.http import HttpServerMiddleware

        return HttpServerMiddleware(telemetry, _excluded(excluded_urls), error_handlers="http_error" in kinds)
    from tomodachi.opentelemetry.handlers import AmqpConsumerMiddleware, ScheduleMiddleware, SqsConsumerMiddleware

    if transport == "amqp":
        return AmqpConsumerMiddleware(telemetry)
    if transport == "aws_sns_sqs":
        return SqsConsumerMiddleware(telemetry)
    return ScheduleMiddleware(telemetry)


def _traced_hook(telemetry: Telemetry, hook: str, original: Callable[..., object]) -> Callable[..., object]:
    """``original`` (a lifecycle hook) inside an INTERNAL span named after the hook, sync or async as it was."""

    def start() -> trace.Span:
        return telemetry.tracer.start_span(
            hook,
            kind=trace.SpanKind.INTERNAL,
            attributes={"code.function": hook, "tomodachi.service.name": telemetry.service_name},
            start_time=telemetry.now_ns(),
        )

    async def finish_later(span: trace.Span, awaitable: Awaitable[object]) -> object:
        try:
            with trace.use_span(span, end_on_exit=False, record_exception=False, set_status_on_exception=False):
                return await awaitable
        except Exception as exc:
            record_error(span, exc)
            raise
        finally:
            span.end(end_time=telemetry.now_ns())

    if inspect.iscoroutinefunction(original):

        async def traced_async(*args: Any, **kwargs: Any) -> object:
            return await finish_later(start(), original(*args, **kwargs))

        return traced_async

    def traced(*args: Any, **kwargs: Any) -> object:
        span = start()
        try:
            with trace.use_span(span, end_on_exit=False, record_exception=False, set_status_on_exception=False):
                result = original(*args, **kwargs)
        except Exception as exc:
            record_error(span, exc)
            span.end(end_time=telemetry.now_ns())
            raise
        if inspect.isawaitable(result):
            return finish_later(span, result)
        span.end(end_time=telemetry.now_ns())
        return result

    return traced


def _post_init(service: object) -> None:
    TomodachiInstrumentor.instrument_service(service)


def _post_teardown(service: object) -> None:
    TomodachiInstrumentor.uninstrument_service(service)


class TomodachiInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Instruments tomodachi services. ``instrument(tracer_provider=..., meter_provider=..., excluded_urls=...)``
    (all optional: the global providers, and the URL exclusions of the environment, by default) instruments every
    service instance created from then on; ``instrument_service(service)`` instruments one instance by hand."""

    _settings: ClassVar[_Settings] = _Settings()
    _instrumented_services: ClassVar[weakref.WeakSet[Any]] = weakref.WeakSet()
    _publish_spans: ClassVar[PublishSpans | None] = None

    def instrumentation_dependencies(self) -> Collection[str]:
        return ()  # tomodachi itself: nothing to check

    def _instrument(self, **kwargs: Any) -> None:
        cls = TomodachiInstrumentor
        cls._settings = _Settings(
            tracer_provider=kwargs.get("tracer_provider"),
            meter_provider=kwargs.get("meter_provider"),
            excluded_urls=kwargs.get("excluded_urls"),
        )
        setattr(Service, POST_INIT_HOOK, _post_init)
        setattr(Service, POST_TEARDOWN_HOOK, _post_teardown)
        settings = cls._settings
        cls._publish_spans = PublishSpans(
            _telemetry_of, lambda: trace.get_tracer(SCOPE, tomodachi_version, settings.tracer_provider)
        )
        add_header_provider(cls._publish_spans)
        log_correlation.install()

    def _uninstrument(self, **kwargs: Any) -> None:
        cls = TomodachiInstrumentor
        for hook in (POST_INIT_HOOK, POST_TEARDOWN_HOOK):
            if hook in vars(Service):
                delattr(Service, hook)
        for service in list(cls._instrumented_services):
            cls.uninstrument_service(service)
        if cls._publish_spans is not None:
            remove_header_provider(cls._publish_spans)
            cls._publish_spans = None
        log_correlation.uninstall()
        cls._settings = _Settings()

    @classmethod
    def instrument_service(
        cls,
        service: object,
        tracer_provider: trace.TracerProvider | None = None,
        meter_provider: metrics.MeterProvider | None = None,
        excluded_urls: str | None = None,
    ) -> None:
        """Instrument one service instance (once; the instrumentor's providers unless others are given)."""
        if isinstance(service, type):
            raise TypeError("instrument_service() takes a service instance, not a class")
        if _telemetry_of(service) is not None:
            return
        settings = cls._settings
        tracer_provider = tracer_provider or settings.tracer_provider
        meter_provider = meter_provider or settings.meter_provider or metrics.get_meter_provider()
        telemetry = Telemetry(
            service,
            trace.get_tracer(SCOPE, tomodachi_version, tracer_provider),
            metrics.get_meter(SCOPE, tomodachi_version, meter_provider),
            metrics=measures(meter_provider),
        )
        urls = excluded_urls if excluded_urls is not None else settings.excluded_urls
        specs = [spec for _, spec in discover_handlers(type(service))]
        transports, kinds = {spec.transport for spec in specs}, {spec.kind for spec in specs}
        # nothing to record (no sampling, no metric reader): no middleware, so no cost per request or message
        for transport, attribute in PRE_MIDDLEWARE_ATTRIBUTES.items() if telemetry.enabled else ():
            if transport in transports:
                existing = list(getattr(service, attribute, None) or ())
                setattr(service, attribute, [_middleware(transport, telemetry, urls, kinds), *existing])
        for hook in LIFECYCLE_HOOKS if telemetry.tracing else ():
            original = getattr(service, hook, None)
            if callable(original) and hook not in vars(service):
                setattr(service, hook, _traced_hook(telemetry, hook, original))
                telemetry.wrapped_hooks.append(hook)
        setattr(service, TELEMETRY_ATTRIBUTE, telemetry)
        cls._instrumented_services.add(service)
        if isinstance(meter_provider, MetricsEndpoint):
            meter_provider.serve_metrics()

    @classmethod
    def uninstrument_service(cls, service: object) -> None:
        """Take the instrumentation off one service instance (its middlewares and wrapped lifecycle hooks)."""
        telemetry = _telemetry_of(service)
        cls._instrumented_services.discard(service)
        if telemetry is None:
            return
        for attribute in PRE_MIDDLEWARE_ATTRIBUTES.values():
            chain = getattr(service, attribute, None)
            if chain:
                kept = [m for m in chain if not getattr(m, "opentelemetry_instrumentation", False)]
                setattr(service, attribute, kept)
        for hook in telemetry.wrapped_hooks:
            vars(service).pop(hook, None)
        vars(service).pop(TELEMETRY_ATTRIBUTE, None)


__all__ = ["MetricsEndpoint", "POST_INIT_HOOK", "POST_TEARDOWN_HOOK", "TomodachiInstrumentor"]
