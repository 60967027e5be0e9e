"""Spans and metrics of message handlers (AMQP, SNS+SQS: CONSUMER spans continuing the publisher's trace) and of
scheduled functions, as pre-middlewares of the messaging pipeline and the scheduler."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from contextvars import Token
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context, attach, detach

from tomodachi.logging import get_handler_context
from tomodachi.opentelemetry.propagation import extract_context
from tomodachi.opentelemetry.telemetry import EMPTY, Attributes, HandlerMetrics, Telemetry, record_error

Handler = Callable[..., Awaitable[Any]]

AMQP_KEYS = ("messaging.destination.name", "messaging.rabbitmq.destination.routing_key")
SQS_KEYS = ("messaging.destination.name", "messaging.destination_publish.name")
SCHEDULE_KEYS = ("code.function",)


async def _run(
    telemetry: Telemetry,
    metrics: HandlerMetrics,
    handler: Handler,
    name: str,
    kind: trace.SpanKind,
    context: Context,
    attributes: Attributes,
) -> Any:
    """``handler()`` inside a span (when tracing): its error recorded on the span, its duration and outcome
    (``function.success``) recorded in ``metrics`` (when measuring)."""
    start = telemetry.now_ns()
    span: trace.Span | None = None
    token: Token[Context] | None = None
    if telemetry.tracing:
        span = telemetry.tracer.start_span(name, context=context, kind=kind, attributes=attributes, start_time=start)
        token = attach(trace.set_span_in_context(span, context))
    active = metrics.started(attributes) if telemetry.metrics else None
    success = False
    try:
        result = await handler()
        success = True
        return result
    except Exception as exc:
        if span is not None:
            record_error(span, exc)
        raise
    finally:
        end = telemetry.now_ns()
        if token is not None:
            detach(token)
        if span is not None:
            span.end(end_time=end)
        if active is not None:
            metrics.finished(active, attributes, (end - start) / 1e9, {"function.success": success})


def _message_uuid(attributes: Attributes, message_uuid: Any) -> None:
    if message_uuid:
        attributes["tomodachi.message.uuid"] = str(message_uuid)


class AmqpConsumerMiddleware:
    """One service's AMQP pre-middleware: a CONSUMER span ``<routing key> process`` per message."""

    opentelemetry_instrumentation = True
    passes_values_through = True  # nothing added or changed on the way to the handler (see tomodachi.handler_check)

    def __init__(self, telemetry: Telemetry) -> None:
        self.telemetry = telemetry
        self.metrics = HandlerMetrics(
            telemetry.meter, "messaging.rabbitmq", "processing a message by the handler function", AMQP_KEYS
        )

    async def __call__(
        self,
        handler: Handler,
        *,
        routing_key: str = "",
        exchange_name: str = "",
        properties: Any = None,
        message_uuid: Any = None,
    ) -> Any:
        attributes: Attributes = {
            "messaging.system": "rabbitmq",
            "messaging.operation.type": "process",
            "messaging.operation.name": "process",
            "messaging.destination.name": exchange_name or "amq.topic",
            "messaging.rabbitmq.destination.routing_key": routing_key,
        }
        message_id = getattr(properties, "message_id", None)
        if message_id:
            attributes["messaging.message.id"] = str(message_id)
        correlation_id = getattr(properties, "correlation_id", None)
        if correlation_id:
            attributes["messaging.message.conversation_id"] = str(correlation_id)
        _message_uuid(attributes, message_uuid)
        headers = getattr(properties, "headers", None)
        carried = isinstance(headers, Mapping) and self.telemetry.carries_context(headers)
        context = extract_context(headers) if carried else EMPTY
        return await _run(
            self.telemetry,
            self.metrics,
            handler,
            f"{routing_key} process",
            trace.SpanKind.CONSUMER,
            context,
            attributes,
        )


class SqsConsumerMiddleware:
    """One service's SNS+SQS pre-middleware: a CONSUMER span ``<topic> process`` (``<queue> process`` for a
    message sent to the queue) per message, with the receive count of the message."""

    opentelemetry_instrumentation = True
    passes_values_through = True  # nothing added or changed on the way to the handler (see tomodachi.handler_check)

    def __init__(self, telemetry: Telemetry) -> None:
        self.telemetry = telemetry
        self.metrics = HandlerMetrics(
            telemetry.meter, "messaging.aws_sqs", "processing a message by the handler function", SQS_KEYS
        )

    def _queue_name_prefix(self) -> str:
        aws = getattr(getattr(self.telemetry.service, "options", None), "aws_sns_sqs", None)
        return str(getattr(aws, "queue_name_prefix", "") or "")

    async def __call__(
        self,
        handler: Handler,
        *,
        topic: str = "",
        queue_url: str = "",
        message_attributes: Mapping[str, Any] | None = None,
        approximate_receive_count: int | None = None,
        sns_message_id: str = "",
        sqs_message_id: str = "",
        message_uuid: Any = None,
    ) -> Any:
        queue = str(queue_url or "").rstrip("/").rsplit("/", 1)[-1]
        prefix = self._queue_name_prefix()
        if prefix and queue.startswith(prefix):
            queue = queue[len(prefix) :]  # the queue's name in the code, as upstream's spans name it
        attributes: Attributes = {
            "messaging.system": "aws_sqs",
            "messaging.operation.type": "process",
            "messaging.operation.name": "process",
            "messaging.destination.name": queue,
            "messaging.destination_publish.name": topic or queue,
        }
        message_id = sns_message_id or sqs_message_id
        if message_id:
            attributes["messaging.message.id"] = str(message_id)
        if sqs_message_id:
            attributes["messaging.aws_sqs.message.id"] = str(sqs_message_id)
        if approximate_receive_count:
            attributes["tomodachi.message.receive_count"] = int(approximate_receive_count)
        _message_uuid(attributes, message_uuid)
        return await _run(
            self.telemetry,
            self.metrics,
            handler,
            f"{topic or queue} process",
            trace.SpanKind.CONSUMER,
            extract_context(message_attributes) if self.telemetry.carries_context(message_attributes) else EMPTY,
            attributes,
        )


class ScheduleMiddleware:
    """One service's schedule pre-middleware: an INTERNAL span per run of a scheduled function, each run a trace
    of its own."""

    opentelemetry_instrumentation = True
    passes_values_through = True  # nothing added or changed on the way to the handler (see tomodachi.handler_check)

    def __init__(self, telemetry: Telemetry) -> None:
        self.telemetry = telemetry
        self.metrics = HandlerMetrics(
            telemetry.meter, "function", "running the scheduled handler function", SCHEDULE_KEYS
        )

    async def __call__(self, handler: Handler, *, invocation_time: str = "", interval: Any = None) -> Any:
        name = str(get_handler_context().get("handler") or "scheduled function")
        attributes: Attributes = {"code.function": name, "function.trigger": "timer"}
        if invocation_time:
            attributes["function.time"] = str(invocation_time)
        if interval:
            attributes["function.interval"] = str(interval)
        return await _run(self.telemetry, self.metrics, handler, name, trace.SpanKind.INTERNAL, EMPTY, attributes)


__all__ = ["AmqpConsumerMiddleware", "ScheduleMiddleware", "SqsConsumerMiddleware"]
