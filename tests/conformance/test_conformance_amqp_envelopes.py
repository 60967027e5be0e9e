"""AMQP envelopes as a real service uses them, on the in-memory RabbitMQ and on a real one
(``--tomodachi-wire=real``): ``ProtobufBase`` (a service's and the test's publish, compressed data, a body that is
not the envelope), JsonBase data big enough to travel compressed, and a decorator's ``callback_kwargs``.
"""

from __future__ import annotations

from typing import Any

from google.protobuf.wrappers_pb2 import StringValue

import tomodachi
from tests.conformance.kit import REAL_WAIT, LetTimePass
from tomodachi.envelope import JsonBase
from tomodachi.envelope.protobuf_base import ProtobufBase
from tomodachi.messaging.amqp.descriptors import AmqpProperties
from tomodachi.messaging.pipeline import ErrorPolicy
from tomodachi.testing import FakeAmqp, ServiceFactory

RETRY_AFTER_200_MS = ErrorPolicy(max_attempts=2, initial_delay=0.2, multiplier=1.0, max_delay=0.2)
BIG = "x" * 70000  # over both envelopes' 60000 compression threshold


# ---- ProtobufBase ---------------------------------------------------------------------------------------------


class ProtoProducer(tomodachi.Service):
    name = "envelopes-proto-producer"
    message_envelope = ProtobufBase

    @tomodachi.amqp("envelopes.proto.trigger", queue_name="envelopes-proto-trigger", message_envelope=None)
    async def trigger(self, data: str) -> None:
        value = BIG if data == "big" else data
        await tomodachi.amqp_publish(self, StringValue(value=value), routing_key="envelopes.proto")


class ProtoConsumer(tomodachi.Service):
    name = "envelopes-proto-consumer"
    message_envelope = ProtobufBase
    message_error_policy = RETRY_AFTER_200_MS

    @tomodachi.amqp("envelopes.proto", queue_name="envelopes-proto", proto_class=StringValue)
    async def handle(
        self,
        data: StringValue,
        metadata: dict[str, Any],
        service: dict[str, Any],
        message_uuid: str,
        properties: AmqpProperties,
    ) -> None:
        pass


async def test_protobuf_messages_from_a_service_and_from_the_test_reach_the_handler_as_the_proto_class(
    tomodachi_service: ServiceFactory, fake_amqp: FakeAmqp, let_time_pass: LetTimePass
) -> None:
    consumer = await tomodachi_service(ProtoConsumer)
    await tomodachi_service(ProtoProducer)
    await fake_amqp.publish("envelopes.proto.trigger", "small", envelope=None)
    await fake_amqp.settle()
    await consumer.wait_for_call("handle", timeout=REAL_WAIT)
    await fake_amqp.publish("envelopes.proto.trigger", "big", envelope=None)
    await fake_amqp.settle()
    await consumer.wait_for_call("handle", count=2, timeout=REAL_WAIT)
    await fake_amqp.publish("envelopes.proto", StringValue(value="from the test"), envelope=ProtobufBase)
    await fake_amqp.settle()
    await consumer.wait_for_call("handle", count=3, timeout=REAL_WAIT)
    await fake_amqp.settle()

    calls = consumer.calls("handle")
    assert [type(c.arguments["data"]) for c in calls] == [StringValue] * 3
    assert [c.arguments["data"].value for c in calls] == ["small", BIG, "from the test"]
    meta = [(c.arguments["metadata"]["data_encoding"], c.arguments["metadata"]["topic"]) for c in calls]
    assert meta == [("proto", "envelopes.proto"), ("gzip_proto", "envelopes.proto"), ("proto", "envelopes.proto")]
    senders = [c.arguments["service"]["name"] for c in calls]
    assert senders == ["envelopes-proto-producer", "envelopes-proto-producer", "tomodachi-test"]
    assert all(c.arguments["message_uuid"] == c.arguments["metadata"]["message_uuid"] for c in calls)
    assert [type(c.arguments["metadata"]["timestamp"]) for c in calls] == [float] * 3
    # the envelope is base64 text: a service's publish and the test's both label it as text
    types = [c.arguments["properties"].content_type for c in calls]
    assert types == ["text/plain; charset=utf-8"] * 3
    records = [p for p in fake_amqp.published() if p.destination == "envelopes.proto"]
    assert [type(p.payload) for p in records] == [bytes] * 3  # AMQP bodies are recorded as bytes
    assert consumer.take_errors() == []


class ProtoStrict(tomodachi.Service):
    name = "envelopes-proto-strict"
    message_envelope = ProtobufBase
    message_error_policy = RETRY_AFTER_200_MS

    @tomodachi.amqp("envelopes.proto.strict", queue_name="envelopes-proto-strict", proto_class=StringValue)
    async def handle(self, data: StringValue) -> None:
        pass


async def test_a_body_that_is_no_protobuf_envelope_is_dead_lettered_at_once(
    tomodachi_service: ServiceFactory, fake_amqp: FakeAmqp
) -> None:
    svc = await tomodachi_service(ProtoStrict)
    await fake_amqp.publish("envelopes.proto.strict", "not an envelope!", envelope=None)
    await fake_amqp.publish("envelopes.proto.strict", {"a": 1}, envelope=JsonBase)
    await fake_amqp.settle()

    assert svc.calls("handle") == []
    dead = [(d.queue, d.reason.split(":")[0], d.receive_count, d.kept) for d in fake_amqp.take_dead_letters()]
    assert dead == [("envelopes-proto-strict", "unable to parse message", 1, True)] * 2


# ---- JsonBase with compressed data ----------------------------------------------------------------------------


class JsonProducer(tomodachi.Service):
    name = "envelopes-json-producer"
    message_envelope = JsonBase

    @tomodachi.amqp("envelopes.json.trigger", queue_name="envelopes-json-trigger")
    async def trigger(self, data: str) -> None:
        await tomodachi.amqp_publish(self, {"text": BIG}, routing_key="envelopes.json")


class JsonConsumer(tomodachi.Service):
    name = "envelopes-json-consumer"
    message_envelope = JsonBase

    @tomodachi.amqp("envelopes.json", queue_name="envelopes-json")
    async def handle(self, data: dict[str, Any], metadata: dict[str, Any], properties: AmqpProperties) -> None:
        pass


async def test_jsonbase_data_over_the_threshold_travels_compressed_and_reaches_the_handler_whole(
    tomodachi_service: ServiceFactory, fake_amqp: FakeAmqp
) -> None:
    consumer = await tomodachi_service(JsonConsumer)
    await tomodachi_service(JsonProducer)
    await fake_amqp.publish("envelopes.json.trigger", "go")
    await fake_amqp.publish("envelopes.json", {"text": BIG})  # the test's publish compresses it the same way
    await fake_amqp.settle()
    await consumer.wait_for_call("handle", count=2, timeout=REAL_WAIT)

    calls = consumer.calls("handle")
    assert [c.arguments["data"] for c in calls] == [{"text": BIG}] * 2
    assert [c.arguments["metadata"]["data_encoding"] for c in calls] == ["base64_gzip_json"] * 2
    assert [c.arguments["properties"].content_type for c in calls] == ["application/json"] * 2
    records = [p for p in fake_amqp.published() if p.destination == "envelopes.json"]
    assert [p.metadata["data_encoding"] for p in records] == ["base64_gzip_json"] * 2
    assert all(len(p.payload) < 2000 for p in records)  # 70000 x's compress to almost nothing
    assert [p.data for p in records] == [{"text": BIG}] * 2  # the record decodes it as the handler does


# ---- callback_kwargs ------------------------------------------------------------------------------------------


class Limited(tomodachi.Service):
    name = "envelopes-limited"
    message_envelope = JsonBase

    @tomodachi.amqp("envelopes.limited", queue_name="envelopes-limited", callback_kwargs=["routing_key", "data"])
    async def handle(self, data: Any, routing_key: str, exchange_name: str | None = None, **kwargs: Any) -> None:
        pass


async def test_callback_kwargs_limits_what_the_handler_is_given(
    tomodachi_service: ServiceFactory, fake_amqp: FakeAmqp
) -> None:
    svc = await tomodachi_service(Limited)
    await fake_amqp.publish("envelopes.limited", {"n": 1}, attributes={"h": "v"})
    await fake_amqp.settle()
    [call] = await svc.wait_for_call("handle", timeout=REAL_WAIT)

    assert call.arguments == {"data": {"n": 1}, "routing_key": "envelopes.limited"}
