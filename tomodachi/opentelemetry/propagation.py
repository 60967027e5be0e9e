"""Trace context across the message bus: headers (W3C ``traceparent``/``tracestate``, as upstream writes them, through
the configured propagators) injected into every published message and read back by the consuming handler."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.context import Context

from tomodachi.opentelemetry.telemetry import Telemetry

# the bus name each kind of outgoing message reports as messaging.system
SYSTEMS = {"amqp": "rabbitmq", "sns": "aws_sns", "sqs": "aws_sqs"}


def inject_headers(context: Context | None = None) -> dict[str, str]:
    """The headers that carry ``context`` (default: the current one); empty when it holds no span."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier, context=context)
    return carrier


def extract_context(headers: Mapping[str, Any] | None) -> Context:
    """The trace context a received message carries; an empty context (the handler's span starts a trace of its
    own) when it carries none. Only text values are read (a foreign producer may send other types under any
    name); a malformed header is ignored."""
    carrier = {key: value for key, value in (headers or {}).items() if isinstance(value, str)}
    if not carrier:
        return Context()
    try:
        return propagate.extract(carrier, context=Context())
    except Exception:
        return Context()


class PublishSpans:
    """The outgoing-header provider registered while instrumented (see ``tomodachi.messaging.outgoing``): a
    PRODUCER span per message, the message's creation context, whose trace context goes into the message's
    headers, so the consuming handler's span continues the publisher's trace."""

    def __init__(self, telemetry_of: Callable[[Any], Telemetry | None], fallback: Callable[[], trace.Tracer]) -> None:
        self.telemetry_of = telemetry_of
        self.fallback = fallback

    def __call__(self, service: Any, kind: str, destination: str) -> dict[str, str]:
        telemetry = self.telemetry_of(service)
        if telemetry is not None and not telemetry.tracing:
            return {}  # this service samples nothing: its consumers start traces of their own
        tracer = telemetry.tracer if telemetry is not None else self.fallback()
        now = telemetry.now_ns() if telemetry is not None else None
        attributes: dict[str, str] = {
            "messaging.system": SYSTEMS.get(kind, kind),
            "messaging.operation.type": "create",
            "messaging.operation.name": "create",
            "messaging.destination.name": destination,
        }
        if kind == "amqp":
            attributes["messaging.rabbitmq.destination.routing_key"] = destination
        span = tracer.start_span(
            f"{destination} create", kind=trace.SpanKind.PRODUCER, attributes=attributes, start_time=now
        )
        try:
            return inject_headers(trace.set_span_in_context(span))
        finally:
            span.end(end_time=now)


__all__ = ["PublishSpans", "SYSTEMS", "extract_context", "inject_headers"]
