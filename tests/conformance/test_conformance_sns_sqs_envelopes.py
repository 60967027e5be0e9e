"""SNS+SQS envelopes and decorator options as a real service uses them, on the in-memory SNS+SQS and on moto
(``--tomodachi-wire=real``): ``ProtobufBase``, JsonBase data big enough to travel compressed, ``callback_kwargs``,
a decorator's ``filter_policy`` and ``visibility_timeout``, bodies that are not the envelope under both error
policies, and a DLQ handler reading what the pipeline dead-lettered.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from google.protobuf.wrappers_pb2 import StringValue

import tomodachi
from tests.conformance.kit import REAL_WAIT, LetTimePass
from tomodachi.envelope import JsonBase
from tomodachi.envelope.protobuf_base import ProtobufBase
from tomodachi.messaging.pipeline import ErrorPolicy
from tomodachi.testing import FakeSnsSqs, ServiceFactory

RETRY_AT_ONCE = ErrorPolicy(initial_delay=0.0, multiplier=1.0, max_delay=0.0)
BIG = "x" * 70000  # over both envelopes' 60000 compression threshold


# ---- a decorator's filter policy and visibility timeout; a DLQ handler reading a dead-lettered message ------


class Orders(tomodachi.Service):
    name = "envelopes-orders"
    message_envelope = JsonBase
    message_error_policy = RETRY_AT_ONCE

    @tomodachi.aws_sns_sqs(
        "envelopes-order",
        queue_name="envelopes-orders",
        dead_letter_queue_name="envelopes-orders-dlq",
        max_receive_count=2,
        visibility_timeout=2,
        filter_policy={"kind": ["a", "b"]},
    )
    async def handle(self, data: Any, **kwargs: Any) -> None:
        raise RuntimeError("fails")

    @tomodachi.aws_sns_sqs(queue_name="envelopes-orders-dlq")
    async def park(self, data: Any, **kwargs: Any) -> None:
        pass


async def test_a_dlq_handler_reads_the_dead_lettered_notification_as_the_failing_handler_got_it(
    tomodachi_service: ServiceFactory, fake_sns_sqs: FakeSnsSqs, let_time_pass: LetTimePass
) -> None:
    svc = await tomodachi_service(Orders)
    attributes = fake_sns_sqs.queue_attributes("envelopes-orders")
    assert attributes["VisibilityTimeout"] == "2"
    await fake_sns_sqs.publish("envelopes-order", {"n": 1}, attributes={"kind": "a"})
    await fake_sns_sqs.publish("envelopes-order", {"n": 2}, attributes={"kind": "c"})  # filtered out
    await fake_sns_sqs.settle()
    await svc.wait_for_call("handle", timeout=REAL_WAIT)
    # a retry "at once" leaves the message invisible for the decorator's visibility timeout
    await let_time_pass(2)
    await svc.wait_for_call("park", timeout=REAL_WAIT)
    await fake_sns_sqs.settle()

    first, second = svc.calls("handle")
    assert second.time - first.time >= timedelta(seconds=2)
    [parked] = svc.calls("park")
    got, kept = first.arguments, parked.arguments
    assert [c.data for c in (first, second, parked)] == [{"n": 1}] * 3
    assert (got["approximate_receive_count"], second.arguments["approximate_receive_count"]) == (1, 2)
    assert kept["approximate_receive_count"] == 1  # the copy in the dead-letter queue is a new SQS message
    assert kept["sqs_message_id"] != got["sqs_message_id"]
    same = ["message_attributes", "message_type", "topic", "sns_message_id", "message_uuid", "message_timestamp"]
    assert {k: kept[k] for k in same} == {k: got[k] for k in same}
    assert (kept["message_attributes"], kept["message_type"], kept["topic"]) == (
        {"kind": "a"},
        "Notification",
        "envelopes-order",
    )
    assert kept["raw_message_body"] == got["raw_message_body"]  # the notification document, as it was received
    assert kept["queue_url"].endswith("/envelopes-orders-dlq")
    assert [str(exc) for exc in svc.take_errors()] == ["fails"] * 2
    [dead] = fake_sns_sqs.take_dead_letters()
    assert (dead.attributes, dead.receive_count, dead.message_id) == ({"kind": "a"}, 2, got["sqs_message_id"])


# ---- ProtobufBase and compressed JsonBase ---------------------------------------------------------------------


class ProtoProducer(tomodachi.Service):
    name = "envelopes-proto-producer"
    message_envelope = JsonBase

    @tomodachi.aws_sns_sqs("envelopes-proto-trigger", queue_name="envelopes-proto-trigger")
    async def trigger(self, data: str) -> None:
        value = BIG if data == "big" else data
        message = StringValue(value=value)
        await tomodachi.aws_sns_sqs_publish(
            self, message, "envelopes-proto", message_envelope=ProtobufBase, message_attributes={"via": "sns"}
        )
        await tomodachi.aws_sns_sqs_send_message(self, message, "envelopes-proto", message_envelope=ProtobufBase)
        await tomodachi.aws_sns_sqs_publish(self, {"text": value}, "envelopes-json")
        await tomodachi.aws_sns_sqs_send_message(self, {"text": value}, "envelopes-json")


class ProtoConsumer(tomodachi.Service):
    name = "envelopes-proto-consumer"
    message_envelope = ProtobufBase

    @tomodachi.aws_sns_sqs("envelopes-proto", queue_name="envelopes-proto", proto_class=StringValue)
    async def proto(
        self, data: StringValue, metadata: dict[str, Any], message_type: str, message_attributes: dict[str, Any]
    ) -> None:
        pass

    @tomodachi.aws_sns_sqs("envelopes-json", queue_name="envelopes-json", message_envelope=JsonBase)
    async def json(self, data: dict[str, Any], metadata: dict[str, Any], message_type: str) -> None:
        pass


async def test_protobuf_and_compressed_json_reach_the_handler_through_sns_and_an_sqs_send(
    tomodachi_service: ServiceFactory, fake_sns_sqs: FakeSnsSqs
) -> None:
    consumer = await tomodachi_service(ProtoConsumer)
    await tomodachi_service(ProtoProducer)
    await fake_sns_sqs.publish("envelopes-proto-trigger", "big")
    await fake_sns_sqs.settle()
    await consumer.wait_for_call("proto", count=2, timeout=REAL_WAIT)
    await consumer.wait_for_call("json", count=2, timeout=REAL_WAIT)
    await fake_sns_sqs.publish("envelopes-proto", StringValue(value="test"), envelope=ProtobufBase)
    await fake_sns_sqs.send("envelopes-proto", StringValue(value="sent"), envelope=ProtobufBase)
    await fake_sns_sqs.settle()
    await consumer.wait_for_call("proto", count=4, timeout=REAL_WAIT)
    await fake_sns_sqs.settle()

    def seen(call: Any) -> tuple[Any, ...]:
        data, args = call.arguments["data"], call.arguments
        value = data.value if isinstance(data, StringValue) else data["text"]
        return (value[:4], len(value), args["metadata"]["data_encoding"], args["message_type"])

    protos = sorted(seen(c) + (c.arguments["message_attributes"],) for c in consumer.calls("proto"))
    assert protos == [
        ("sent", 4, "proto", "Message", {}),
        ("test", 4, "proto", "Notification", {}),
        ("xxxx", 70000, "gzip_proto", "Message", {}),
        ("xxxx", 70000, "gzip_proto", "Notification", {"via": "sns"}),
    ]
    assert all(type(c.arguments["data"]) is StringValue for c in consumer.calls("proto"))
    jsons = sorted(seen(c) for c in consumer.calls("json"))
    assert jsons == [
        ("xxxx", 70000, "base64_gzip_json", "Message"),
        ("xxxx", 70000, "base64_gzip_json", "Notification"),
    ]
    records = [p for p in fake_sns_sqs.published() if p.destination == "envelopes-json"]
    assert sorted((p.kind, p.metadata["data_encoding"]) for p in records) == [
        ("sns", "base64_gzip_json"),
        ("sqs", "base64_gzip_json"),
    ]
    assert [p.data for p in records] == [{"text": BIG}] * 2


# ---- bodies that are not the envelope, under both error policies ----------------------------------------------


class Strict(tomodachi.Service):
    name = "envelopes-strict"
    message_envelope = JsonBase
    message_error_policy = RETRY_AT_ONCE

    @tomodachi.aws_sns_sqs(
        "envelopes-strict",
        queue_name="envelopes-strict",
        dead_letter_queue_name="envelopes-strict-dlq",
        max_receive_count=3,
    )
    async def handle(self, data: Any) -> None:
        pass

    @tomodachi.aws_sns_sqs(queue_name="envelopes-strict-dlq", message_envelope=None)
    async def park(self, body: str, message_type: str, approximate_receive_count: int) -> None:
        pass


class Upstream(tomodachi.Service):
    name = "envelopes-upstream"
    message_envelope = JsonBase
    message_error_policy = "upstream"

    @tomodachi.aws_sns_sqs("envelopes-upstream", queue_name="envelopes-upstream")
    async def handle(self, data: Any) -> None:
        raise RuntimeError("upstream fails")


async def test_a_body_that_is_not_the_envelope_is_dead_lettered_at_once_and_upstream_drops_it(
    tomodachi_service: ServiceFactory, fake_sns_sqs: FakeSnsSqs
) -> None:
    strict = await tomodachi_service(Strict)
    upstream = await tomodachi_service(Upstream)
    await fake_sns_sqs.publish("envelopes-strict", "not an envelope", envelope=None)
    await fake_sns_sqs.publish("envelopes-upstream", "not an envelope", envelope=None)
    await fake_sns_sqs.publish("envelopes-upstream", "x")
    await fake_sns_sqs.settle()
    [parked] = await strict.wait_for_call("park", timeout=REAL_WAIT)
    await upstream.wait_for_call("handle", timeout=REAL_WAIT)
    await fake_sns_sqs.settle()

    assert strict.calls("handle") == []
    assert (parked.arguments["message_type"], parked.arguments["approximate_receive_count"]) == ("Notification", 1)
    assert parked.arguments["body"] == "not an envelope"  # the raw handler gets the notification's Message
    assert [str(exc) for exc in upstream.take_errors()] == ["upstream fails"]
    assert len(upstream.calls("handle")) == 1
    parse = "unable to parse message: JSONDecodeError: Expecting value: line 1 column 1 (char 0)"
    dead = sorted(
        (d.queue, d.dead_letter_queue, d.reason, d.receive_count, d.kept) for d in fake_sns_sqs.take_dead_letters()
    )
    assert dead == [
        ("envelopes-strict", "envelopes-strict-dlq", parse, 1, True),
        ("envelopes-upstream", None, "dropped after handler error (message_error_policy='upstream'): RuntimeError: "
         "upstream fails", 1, False),
        ("envelopes-upstream", None, f"dropped: {parse}", 1, False),
    ]  # fmt: skip


# ---- callback_kwargs ------------------------------------------------------------------------------------------


class Limited(tomodachi.Service):
    name = "envelopes-limited"
    message_envelope = JsonBase

    @tomodachi.aws_sns_sqs("envelopes-limited", queue_name="envelopes-limited", callback_kwargs=["topic", "data"])
    async def handle(self, data: Any, topic: str, queue_url: str | None = None, **kwargs: Any) -> None:
        pass


async def test_callback_kwargs_limits_what_the_handler_is_given(
    tomodachi_service: ServiceFactory, fake_sns_sqs: FakeSnsSqs
) -> None:
    svc = await tomodachi_service(Limited)
    await fake_sns_sqs.publish("envelopes-limited", {"n": 1}, attributes={"h": "v"})
    await fake_sns_sqs.settle()
    [call] = await svc.wait_for_call("handle", timeout=REAL_WAIT)

    assert call.arguments == {"data": {"n": 1}, "topic": "envelopes-limited"}


class FifoOrders(tomodachi.Service):
    name = "envelopes-fifo"
    message_envelope = JsonBase
    message_error_policy = RETRY_AT_ONCE

    @tomodachi.aws_sns_sqs(
        "envelopes-fifo",
        fifo=True,
        queue_name="envelopes-fifo.fifo",
        dead_letter_queue_name="envelopes-fifo-dlq.fifo",
        max_receive_count=1,
    )
    async def handle(self, data: Any, **kwargs: Any) -> None:
        raise RuntimeError("fails")

    @tomodachi.aws_sns_sqs(queue_name="envelopes-fifo-dlq.fifo", fifo=True)
    async def park(self, data: Any, **kwargs: Any) -> None:
        pass


class Vis(tomodachi.Service):
    name = "envelopes-vis"
    message_envelope = JsonBase

    @tomodachi.aws_sns_sqs(
        "envelopes-vis", queue_name="envelopes-vis", visibility_timeout=3, filter_policy={"k": ["a"]}
    )
    async def handle(self, data: Any) -> None:
        pass


class Vis2(tomodachi.Service):
    name = "envelopes-vis2"
    message_envelope = JsonBase

    @tomodachi.aws_sns_sqs("envelopes-vis", queue_name="envelopes-vis", visibility_timeout=5, filter_policy=None)
    async def handle(self, data: Any) -> None:
        pass


async def test_a_fifo_dlq_handler_reads_the_group_and_deduplication_ids_the_failing_handler_got(
    tomodachi_service: ServiceFactory, fake_sns_sqs: FakeSnsSqs
) -> None:
    svc = await tomodachi_service(FifoOrders)
    await fake_sns_sqs.publish(
        "envelopes-fifo", {"n": 1}, attributes={"kind": "a"}, group_id="g", deduplication_id="d1"
    )
    await fake_sns_sqs.publish("envelopes-fifo", {"n": 2}, group_id="g")  # the publisher makes a deduplication id
    await fake_sns_sqs.settle()
    await svc.wait_for_call("park", count=2, timeout=REAL_WAIT)
    await fake_sns_sqs.settle()

    keys = ["message_attributes", "message_group_id", "message_deduplication_id", "topic", "sns_message_id"]
    handled = [(c.data, {k: c.arguments[k] for k in keys}) for c in svc.calls("handle")]
    parked = [(c.data, {k: c.arguments[k] for k in keys}) for c in svc.calls("park")]
    assert parked == handled  # in group order, with the ids the failing handler got
    assert [(d["message_group_id"], d["topic"]) for _, d in parked] == [("g", "envelopes-fifo.fifo")] * 2
    assert parked[0][1]["message_deduplication_id"] == "d1"
    assert [c.arguments["approximate_receive_count"] for c in svc.calls("park")] == [1, 1]
    assert [str(exc) for exc in svc.take_errors()] == ["fails"] * 2
    dead = [(d.attributes, d.receive_count, d.dead_letter_queue) for d in fake_sns_sqs.take_dead_letters()]
    assert dead == [({"kind": "a"}, 1, "envelopes-fifo-dlq.fifo"), ({}, 1, "envelopes-fifo-dlq.fifo")]


async def test_a_restarted_service_updates_the_visibility_timeout_and_removes_the_filter_policy(
    tomodachi_service: ServiceFactory, fake_sns_sqs: FakeSnsSqs
) -> None:
    first = await tomodachi_service(Vis)
    assert fake_sns_sqs.queue_attributes("envelopes-vis")["VisibilityTimeout"] == "3"
    await first.stop()
    second = await tomodachi_service(Vis2)  # visibility_timeout=5, filter_policy=None on the same queue
    assert fake_sns_sqs.queue_attributes("envelopes-vis")["VisibilityTimeout"] == "5"
    await fake_sns_sqs.publish("envelopes-vis", {"n": 1}, attributes={"k": "b"})
    await fake_sns_sqs.publish("envelopes-vis", {"n": 2})
    await fake_sns_sqs.settle()
    await second.wait_for_call("handle", count=2, timeout=REAL_WAIT)

    assert [c.data for c in second.calls("handle")] == [{"n": 1}, {"n": 2}]
