"""Spans and metrics of message handlers (AMQP, SNS+SQS: CONSUMER spans continuing the publisher's trace) and of
scheduled functions, as pre-middlewares of the messaging pipeline and the scheduler."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from contextvars import Token

from opentelemetry import trace
from opentelemetry.context import Context, attach, detach
from opentelemetry.util.types import AttributeValue

from tomodachi.logging import get_handler_context
from tomodachi.messaging.broker import Delivery, current_delivery
from tomodachi.opentelemetry.propagation import extract_context
from tomodachi.opentelemetry.telemetry import EMPTY, Attributes, HandlerMetrics, Telemetry, record_error

Handler = Callable[..., Awaitable[object]]

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
    delivery: Delivery | None = None,
) -> object:
    """``handler()`` inside a span (when tracing): its error recorded on the span, its duration and outcome
    (``function.success``) recorded in ``metrics`` (when measuring). For a message's ``delivery`` both are
    finished when the pipeline settled it, with what became of it (``tomodachi.message.outcome``)."""
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
        if span is not None or active is not None:
            finish = _Finish(telemetry, metrics, span, active, attributes, (end - start) / 1e9, success)
            if delivery is None:
                finish.now(end)
            else:
                delivery.on_settled(finish.settled)


# what became of a message, by how the pipeline settled its delivery (an ack after a failed handler: the error
# policy let the message go)
OUTCOMES = {"retry": "retried", "dead_letter": "dead_lettered", "abandoned": "abandoned"}


class _Finish:
    """Ends one handler run's span and records its duration once its outcome is known."""

    __slots__ = ("telemetry", "metrics", "span", "active", "attributes", "seconds", "success")

    def __init__(
        self,
        telemetry: Telemetry,
        metrics: HandlerMetrics,
        span: trace.Span | None,
        active: tuple[AttributeValue, ...] | None,
        attributes: Attributes,
        seconds: float,
        success: bool,
    ) -> None:
        self.telemetry = telemetry
        self.metrics = metrics
        self.span = span
        self.active = active
        self.attributes = attributes
        self.seconds = seconds
        self.success = success

    def now(self, end: int, outcome: str | None = None) -> None:
        extra: Attributes = {"function.success": self.success}
        if outcome is not None:
            extra["tomodachi.message.outcome"] = outcome
        if self.span is not None:
            if outcome is not None:
                self.span.set_attribute("tomodachi.message.outcome", outcome)
            self.span.end(end_time=end)
        if self.active is not None:
            self.metrics.finished(self.active, self.attributes, self.seconds, extra)

    def settled(self, outcome: str) -> None:
        label = OUTCOMES.get(outcome) or ("ok" if self.success else "dropped")
        self.now(self.telemetry.now_ns(), label)


def _message_uuid(attributes: Attributes, message_uuid: object) -> None:
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
        properties: object = None,
        message_uuid: object = None,
    ) -> object:
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
        delivery = current_delivery.get()
        if delivery is not None:
            attributes["tomodachi.message.receive_count"] = delivery.receive_count
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
            delivery,
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
        message_attributes: Mapping[str, object] | None = None,
        approximate_receive_count: int | None = None,
        sns_message_id: str = "",
        sqs_message_id: str = "",
        message_uuid: object = None,
    ) -> object:
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
            current_delivery.get(),
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

    async def __call__(self, handler: Handler, *, invocation_time: str = "", interval: object = None) -> object:
        name = str(get_handler_context().get("handler") or "scheduled function")
        attributes: Attributes = {"code.function": name, "function.trigger": "timer"}
        if invocation_time:
            attributes["function.time"] = str(invocation_time)
        if interval:
            attributes["function.interval"] = str(interval)
        return await _run(self.telemetry, self.metrics, handler, name, trace.SpanKind.INTERNAL, EMPTY, attributes)


__all__ = ["AmqpConsumerMiddleware", "ScheduleMiddleware", "SqsConsumerMiddleware"]
