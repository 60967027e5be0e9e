"""Trace context across the bus: the outgoing-header registry, the PRODUCER span and headers instrumentation provides,
reading them back; end to end (request → publish → consumer, one trace) once the publish functions call the registry."""

from __future__ import annotations

import inspect
import logging
from typing import Any

import pytest
from aiohttp import web
from opentelemetry import trace
from opentelemetry.trace import SpanKind

import tomodachi
from tomodachi.envelope import JsonBase
from tomodachi.messaging import outgoing
from tomodachi.messaging.outgoing import add_header_provider, add_outgoing_headers, remove_header_provider
from tomodachi.opentelemetry.propagation import extract_context, inject_headers
from tomodachi.testing import ServiceFactory, TestSystem
from tomodachi.testing.otel import SpanRecorder

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@pytest.fixture
def provider_slot() -> Any:
    before = outgoing.header_providers()
    yield
    for provider in outgoing.header_providers():
        if provider not in before:
            remove_header_provider(provider)


def test_without_providers_the_headers_are_left_as_they_are() -> None:
    if outgoing.header_providers():
        pytest.skip("a provider is registered in this process")
    carrier = {"customer": "c-1"}
    assert add_outgoing_headers(carrier, object(), "sns", "orders") == {"customer": "c-1"}


def test_providers_add_headers_but_never_replace_the_callers(provider_slot: None) -> None:
    seen: list[tuple[str, str]] = []

    def provider(service: Any, kind: str, destination: str) -> dict[str, str]:
        seen.append((kind, destination))
        return {"traceparent": TRACEPARENT, "customer": "from-provider"}

    add_header_provider(provider)
    add_header_provider(provider)  # registered once
    carrier = add_outgoing_headers({"customer": "c-1"}, object(), "amqp", "order.placed")
    assert carrier == {"customer": "c-1", "traceparent": TRACEPARENT}
    assert seen == [("amqp", "order.placed")]


def test_sns_and_sqs_messages_stay_within_ten_attributes(provider_slot: None) -> None:
    add_header_provider(lambda service, kind, destination: {"traceparent": TRACEPARENT, "tracestate": "a=1"})
    nine = {f"key{index}": "x" for index in range(9)}
    assert len(add_outgoing_headers(dict(nine), object(), "sns", "orders")) == 10
    assert len(add_outgoing_headers(dict(nine), object(), "amqp", "orders")) == 11  # AMQP has no such limit


def test_a_failing_provider_is_logged_and_the_publish_goes_on(
    provider_slot: None, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(service: Any, kind: str, destination: str) -> dict[str, str]:
        raise RuntimeError("no tracer today")

    add_header_provider(broken)
    with caplog.at_level(logging.ERROR, logger="tomodachi.messaging"):
        assert add_outgoing_headers({}, object(), "sqs", "q") == {}
    assert "header provider failed" in caplog.text


def test_instrumented_publishes_get_a_producer_span_whose_context_the_headers_carry(otel_spans: SpanRecorder) -> None:
    tracer = otel_spans.tracer_provider.get_tracer("test")
    with tracer.start_as_current_span("handler") as handler_span:
        headers = add_outgoing_headers({}, object(), "amqp", "order.placed")

    producer = otel_spans.one("order.placed create")
    assert producer.kind is SpanKind.PRODUCER
    assert producer.attributes["messaging.system"] == "rabbitmq"  # type: ignore[index]
    assert producer.attributes["messaging.operation.type"] == "create"  # type: ignore[index]
    assert producer.parent is not None and producer.parent.span_id == handler_span.get_span_context().span_id
    assert producer.context is not None
    assert headers["traceparent"].startswith(f"00-{producer.context.trace_id:032x}-{producer.context.span_id:016x}-")
    consumer_context = trace.get_current_span(extract_context(headers)).get_span_context()
    assert consumer_context.trace_id == producer.context.trace_id
    assert consumer_context.span_id == producer.context.span_id


def test_headers_are_only_added_while_instrumented(otel_spans: SpanRecorder) -> None:
    assert "traceparent" in add_outgoing_headers({}, object(), "sns", "t")


def test_extract_reads_only_text_values_and_ignores_what_it_cannot_read() -> None:
    for headers in ({"traceparent": 17}, {"traceparent": "00-garbage"}, {}, None):
        assert not trace.get_current_span(extract_context(headers)).get_span_context().is_valid
    context = trace.get_current_span(extract_context({"traceparent": TRACEPARENT, "n": 1})).get_span_context()
    assert f"{context.trace_id:032x}" == "4bf92f3577b34da6a3ce929d0e0e4736"


def test_inject_outside_a_span_gives_no_trace_headers() -> None:
    assert "traceparent" not in inject_headers()


# -- end to end: HTTP → publish → consume, one trace -----------------------------------------------------------


def _wired(module: Any) -> bool:
    return "add_outgoing_headers" in inspect.getsource(module)


def _amqp_wired() -> bool:
    import tomodachi.messaging.amqp.api

    return _wired(tomodachi.messaging.amqp.api)


def _sns_sqs_wired() -> bool:
    import tomodachi.messaging.sns_sqs.api

    return _wired(tomodachi.messaging.sns_sqs.api)


class Orders(tomodachi.Service):
    name = "orders"
    message_envelope = JsonBase
    options = tomodachi.Options(http=tomodachi.Options.HTTP(access_log=False))

    @tomodachi.http("POST", r"/orders/(?P<bus>amqp|sns|sqs)")
    async def place(self, request: web.Request, bus: str) -> tuple[int, str]:
        if bus == "amqp":
            await tomodachi.amqp_publish(self, {"order": 1}, routing_key="order.placed")
        elif bus == "sns":
            await tomodachi.sns_publish(self, {"order": 1}, "order.placed")
        else:
            await tomodachi.sqs_send_message(self, {"order": 1}, "kitchen-direct")
        return 202, "accepted"


class Kitchen(tomodachi.Service):
    name = "kitchen"
    message_envelope = JsonBase

    @tomodachi.amqp("order.placed")
    async def cook_amqp(self, data: dict[str, Any]) -> None: ...

    @tomodachi.aws_sns_sqs("order.placed", queue_name="kitchen-orders")
    async def cook_sns(self, data: dict[str, Any]) -> None: ...

    @tomodachi.aws_sns_sqs(queue_name="kitchen-direct")
    async def cook_sqs(self, data: dict[str, Any]) -> None: ...


async def _one_trace(otel_spans: SpanRecorder, system: TestSystem, bus: str, consumer: str) -> None:
    await system.start(Kitchen)
    orders = await system.start(Orders)
    assert (await orders.http.post(f"/orders/{bus}")).status == 202
    await system.settle()

    request = otel_spans.one("POST /orders/(?P<bus>amqp|sns|sqs)")
    producer = next(span for span in otel_spans if span.kind is SpanKind.PRODUCER)
    process = otel_spans.one(consumer)
    assert request.context is not None and producer.context is not None and process.context is not None
    assert {span.context.trace_id for span in (request, producer, process)} == {request.context.trace_id}  # type: ignore[union-attr]
    assert producer.parent is not None and producer.parent.span_id == request.context.span_id
    assert process.parent is not None and process.parent.span_id == producer.context.span_id


@pytest.mark.skipif(not _amqp_wired(), reason="amqp_publish does not call the outgoing-header registry yet")
async def test_a_request_its_amqp_publish_and_the_consumer_are_one_trace(
    otel_spans: SpanRecorder, tomodachi_system: TestSystem
) -> None:
    await _one_trace(otel_spans, tomodachi_system, "amqp", "order.placed process")


@pytest.mark.skipif(not _sns_sqs_wired(), reason="sns_publish does not call the outgoing-header registry yet")
async def test_a_request_its_sns_publish_and_the_consumer_are_one_trace(
    otel_spans: SpanRecorder, tomodachi_system: TestSystem
) -> None:
    await _one_trace(otel_spans, tomodachi_system, "sns", "order.placed process")


@pytest.mark.skipif(not _sns_sqs_wired(), reason="sqs_send_message does not call the outgoing-header registry yet")
async def test_a_request_its_sqs_message_and_the_consumer_are_one_trace(
    otel_spans: SpanRecorder, tomodachi_system: TestSystem
) -> None:
    await _one_trace(otel_spans, tomodachi_system, "sqs", "kitchen-direct process")


async def test_consumers_never_inherit_the_publishers_context_without_headers(
    otel_spans: SpanRecorder, tomodachi_system: TestSystem, tomodachi_service: ServiceFactory
) -> None:
    """The in-memory brokers deliver from the publisher's task: a consumer span must still come only from what
    the message carries, or these tests would show a trace the wire would not."""
    if _amqp_wired():
        pytest.skip("publishes carry trace headers now")
    await _trace_of_unwired(otel_spans, tomodachi_system)


async def _trace_of_unwired(otel_spans: SpanRecorder, system: TestSystem) -> None:
    await system.start(Kitchen)
    orders = await system.start(Orders)
    await orders.http.post("/orders/amqp")
    await system.settle()
    assert otel_spans.one("order.placed process").parent is None
