"""Message handlers: a CONSUMER span per delivery with the messaging semantic conventions, continuing the trace the
message carries (upstream's traceparent header / attribute), the receive count, errors and per-outcome metrics."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry.trace import SpanKind, StatusCode

import tomodachi
from tomodachi.envelope import JsonBase
from tomodachi.testing import FakeAmqp, FakeSnsSqs, ServiceFactory, TestSystem
from tomodachi.testing.otel import SpanRecorder

UPSTREAM_TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
UPSTREAM_SPAN_ID = "00f067aa0ba902b7"
TRACEPARENT = f"00-{UPSTREAM_TRACE_ID}-{UPSTREAM_SPAN_ID}-01"


class Kitchen(tomodachi.Service):
    name = "kitchen"
    message_envelope = JsonBase

    @tomodachi.amqp("order.placed", queue_name="kitchen-orders")
    async def cook(self, data: dict[str, Any]) -> None:
        if data.get("dish") == "stone soup":
            raise ValueError("no stone soup on the menu")


class Billing(tomodachi.Service):
    name = "billing"
    message_envelope = JsonBase

    @tomodachi.aws_sns_sqs(
        "order.cooked", queue_name="billing-orders", dead_letter_queue_name="billing-orders-dlq", max_receive_count=2
    )
    async def invoice(self, data: dict[str, Any]) -> None:
        if data["price"] <= 0:
            raise ValueError(f"price must be positive, not {data['price']}")


async def test_an_amqp_message_is_a_consumer_span_with_messaging_attributes(
    otel_spans: SpanRecorder, tomodachi_service: ServiceFactory, fake_amqp: FakeAmqp
) -> None:
    await tomodachi_service(Kitchen)
    await fake_amqp.publish("order.placed", {"dish": "pizza"})
    await fake_amqp.settle()

    span = otel_spans.one("order.placed process")
    assert span.kind is SpanKind.CONSUMER
    attributes = dict(span.attributes or {})
    assert attributes["messaging.system"] == "rabbitmq"
    assert attributes["messaging.operation.type"] == "process"
    assert attributes["messaging.destination.name"] == "amq.topic"
    assert attributes["messaging.rabbitmq.destination.routing_key"] == "order.placed"
    assert attributes["messaging.message.id"]
    assert attributes["tomodachi.message.uuid"]
    assert span.parent is None  # nothing in the message: a trace of its own


async def test_an_amqp_message_with_a_traceparent_header_continues_that_trace(
    otel_spans: SpanRecorder, tomodachi_service: ServiceFactory, fake_amqp: FakeAmqp
) -> None:
    await tomodachi_service(Kitchen)
    await fake_amqp.publish("order.placed", {"dish": "pizza"}, attributes={"traceparent": TRACEPARENT})
    await fake_amqp.settle()

    span = otel_spans.one("order.placed process")
    assert span.context is not None and span.parent is not None
    assert f"{span.context.trace_id:032x}" == UPSTREAM_TRACE_ID
    assert f"{span.parent.span_id:016x}" == UPSTREAM_SPAN_ID


async def test_a_malformed_traceparent_starts_a_trace_of_its_own(
    otel_spans: SpanRecorder, tomodachi_service: ServiceFactory, fake_amqp: FakeAmqp
) -> None:
    await tomodachi_service(Kitchen)
    await fake_amqp.publish("order.placed", {"dish": "pizza"}, attributes={"traceparent": "00-nonsense"})
    await fake_amqp.settle()

    assert otel_spans.one("order.placed process").parent is None


async def test_an_sns_message_is_a_consumer_span_with_its_topic_queue_and_receive_count(
    otel_spans: SpanRecorder, tomodachi_service: ServiceFactory, fake_sns_sqs: FakeSnsSqs
) -> None:
    await tomodachi_service(Billing)
    await fake_sns_sqs.publish("order.cooked", {"price": 1250}, attributes={"traceparent": TRACEPARENT})
    await fake_sns_sqs.settle()

    span = otel_spans.one("order.cooked process")
    assert span.kind is SpanKind.CONSUMER
    attributes = dict(span.attributes or {})
    assert attributes["messaging.system"] == "aws_sqs"
    assert attributes["messaging.destination.name"] == "billing-orders"
    assert attributes["messaging.destination_publish.name"] == "order.cooked"
    assert attributes["messaging.message.id"]
    assert attributes["tomodachi.message.receive_count"] == 1
    assert span.context is not None and f"{span.context.trace_id:032x}" == UPSTREAM_TRACE_ID


async def test_a_failing_handler_records_each_attempt_as_an_error_span(
    otel_spans: SpanRecorder, tomodachi_system: TestSystem
) -> None:
    await tomodachi_system.start(Billing)
    tomodachi_system.expect_errors(ValueError)
    await tomodachi_system.fake_sns_sqs.publish("order.cooked", {"price": 0})
    await tomodachi_system.run_until_idle()
    tomodachi_system.fake_sns_sqs.take_dead_letters("billing-orders")

    first, second = otel_spans.named("order.cooked process")
    assert [span.attributes["tomodachi.message.receive_count"] for span in (first, second)] == [1, 2]  # type: ignore[index]
    for span in (first, second):
        assert span.status.status_code is StatusCode.ERROR
        assert span.attributes["error.type"] == "ValueError"  # type: ignore[index]
        assert [event.name for event in span.events] == ["exception"]
    assert first.end_time is not None and second.start_time is not None
    assert second.start_time > first.end_time  # the retry came after the back-off, in virtual time


async def test_handler_durations_are_counted_by_outcome(
    otel_spans: SpanRecorder, tomodachi_service: ServiceFactory, fake_amqp: FakeAmqp
) -> None:
    svc = await tomodachi_service(Kitchen)
    svc.expect_errors(ValueError)
    await fake_amqp.publish("order.placed", {"dish": "pizza"})
    await fake_amqp.publish("order.placed", {"dish": "salad"})
    await fake_amqp.publish("order.placed", {"dish": "stone soup"})
    await fake_amqp.settle()

    counts = {
        point.attributes["function.success"]: point.count
        for point in otel_spans.metric_points("messaging.rabbitmq.duration")
    }
    assert counts == {True: 2, False: 1}
    in_flight = otel_spans.metric_points("messaging.rabbitmq.active_tasks")
    assert in_flight and all(point.value == 0 for point in in_flight)


class Strict(tomodachi.Service):
    name = "strict"
    message_envelope = JsonBase

    @tomodachi.amqp("order.placed")
    async def cook(self, data: dict[str, Any], *, nobody_fills_this: str) -> None: ...


async def test_instrumentation_keeps_the_start_time_check_of_handler_parameters(
    otel_spans: SpanRecorder, tomodachi_service: ServiceFactory
) -> None:
    with pytest.raises(Exception, match="nobody_fills_this"):
        await tomodachi_service(Strict)


class PrefixedInbox(tomodachi.Service):
    name = "prefixed-inbox"
    message_envelope = JsonBase
    options = tomodachi.Options(aws_sns_sqs=tomodachi.Options.AWSSNSSQS(queue_name_prefix="staging-"))

    @tomodachi.aws_sns_sqs(queue_name="inbox")
    async def receive(self, data: dict[str, Any]) -> None:
        pass


async def test_a_queue_name_prefix_is_not_part_of_the_destination_name(
    otel_spans: SpanRecorder, tomodachi_service: ServiceFactory, fake_sns_sqs: FakeSnsSqs
) -> None:
    svc = await tomodachi_service(PrefixedInbox)
    await tomodachi.sqs_send_message(svc.instance, {"hello": "world"}, queue_name="inbox")
    await fake_sns_sqs.settle()

    span = otel_spans.one("inbox process")
    attributes = dict(span.attributes or {})
    assert attributes["messaging.destination.name"] == "inbox"
    assert attributes["messaging.destination_publish.name"] == "inbox"


async def test_each_attempt_s_span_and_duration_carry_what_became_of_the_message(
    otel_spans: SpanRecorder, tomodachi_system: TestSystem
) -> None:
    await tomodachi_system.start(Billing)
    tomodachi_system.expect_errors(ValueError)
    await tomodachi_system.fake_sns_sqs.publish("order.cooked", {"price": 1250})
    await tomodachi_system.fake_sns_sqs.publish("order.cooked", {"price": 0})
    await tomodachi_system.run_until_idle()
    tomodachi_system.fake_sns_sqs.take_dead_letters("billing-orders")

    spans = otel_spans.named("order.cooked process")
    outcomes = sorted(
        (span.attributes["tomodachi.message.receive_count"], span.attributes["tomodachi.message.outcome"])  # type: ignore[index]
        for span in spans
    )
    assert outcomes == [(1, "ok"), (1, "retried"), (2, "dead_lettered")]
    counts = {
        (point.attributes["function.success"], point.attributes["tomodachi.message.outcome"]): point.count
        for point in otel_spans.metric_points("messaging.aws_sqs.duration")
    }
    assert counts == {(True, "ok"): 1, (False, "retried"): 1, (False, "dead_lettered"): 1}


async def test_an_amqp_span_carries_the_receive_count_of_each_attempt(
    otel_spans: SpanRecorder, tomodachi_system: TestSystem
) -> None:
    await tomodachi_system.start(Kitchen)
    tomodachi_system.expect_errors(ValueError)
    await tomodachi_system.fake_amqp.publish("order.placed", {"dish": "stone soup"})
    await tomodachi_system.run_until_idle()
    tomodachi_system.fake_amqp.take_dead_letters("kitchen-orders")

    spans = otel_spans.named("order.placed process")
    attempts = [
        (span.attributes["tomodachi.message.receive_count"], span.attributes["tomodachi.message.outcome"])  # type: ignore[index]
        for span in spans
    ]
    assert attempts[0] == (1, "retried")
    assert [count for count, _ in attempts] == list(range(1, len(attempts) + 1))
    assert attempts[-1][1] == "dead_lettered"
