"""SNS+SQS options, envelopes and error policies as a real service uses them, on the in-memory SNS+SQS and on
moto (``--tomodachi-wire=real``): topic and queue-name prefixes, a dead-letter queue named in the decorator,
FIFO topics without a deduplication id, and message middleware that changes what the handler gets.

Each scenario asserts the same thing on both wires (no difference was found in this round: both pass).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import tomodachi
from tests.conformance.kit import REAL_WAIT
from tomodachi.envelope import JsonBase
from tomodachi.messaging.pipeline import ErrorPolicy
from tomodachi.testing import FakeSnsSqs, ServiceFactory

PREFIXES = {"aws_sns_sqs.topic_prefix": "tp-", "aws_sns_sqs.queue_name_prefix": "qp-"}
RETRY_AT_ONCE = ErrorPolicy(initial_delay=0.0, multiplier=1.0, max_delay=0.0)


async def shout_topic(
    func: Callable[..., Awaitable[Any]], service: Any, message: Any, topic: str, context: Any, **kwargs: Any
) -> Any:
    """Middleware: records what it is given, and hands the handler the topic in upper case."""
    service.middleware_saw.append((topic, sorted(kwargs)))
    return await func(topic=topic.upper())


class Producer(tomodachi.Service):
    name = "options-producer"
    message_envelope = JsonBase

    @tomodachi.aws_sns_sqs("options-trigger", queue_name="options-trigger")
    async def trigger(self, data: str) -> None:
        await tomodachi.aws_sns_sqs_publish(self, data, "options-event")
        await tomodachi.aws_sns_sqs_publish(self, data, "options-ledger", group_id="g1")  # no deduplication id


class Consumer(tomodachi.Service):
    name = "options-consumer"
    message_envelope = JsonBase
    message_error_policy = RETRY_AT_ONCE
    message_middleware = [shout_topic]

    def __init__(self) -> None:
        super().__init__()
        self.middleware_saw: list[tuple[str, list[str]]] = []

    @tomodachi.aws_sns_sqs(
        "options-event", queue_name="options-events", dead_letter_queue_name="options-events-dlq", max_receive_count=1
    )
    async def event(self, data: str, topic: str, queue_url: str, message_type: str) -> None:
        if data == "fail":
            raise RuntimeError("event fails")

    @tomodachi.aws_sns_sqs("options-ledger", fifo=True, queue_name="options-ledger.fifo")
    async def ledger(self, data: str, topic: str, message_group_id: str, message_deduplication_id: str) -> None:
        pass

    @tomodachi.aws_sns_sqs(queue_name="options-events-dlq")
    async def park(self, data: str, topic: str, queue_url: str) -> None:
        pass


async def test_prefixed_services_with_a_named_dead_letter_queue_a_fifo_topic_and_middleware(
    tomodachi_service: ServiceFactory, fake_sns_sqs: FakeSnsSqs
) -> None:
    consumer = await tomodachi_service(Consumer, options=PREFIXES)
    await tomodachi_service(Producer, options=PREFIXES)
    await fake_sns_sqs.publish("options-trigger", "ok", topic_prefix="tp-")
    await fake_sns_sqs.settle()
    await consumer.wait_for_call("event", timeout=REAL_WAIT)
    await consumer.wait_for_call("ledger", timeout=REAL_WAIT)
    await fake_sns_sqs.publish("options-trigger", "fail", topic_prefix="tp-")
    await fake_sns_sqs.settle()
    await consumer.wait_for_call("park", timeout=REAL_WAIT)
    await consumer.wait_for_call("ledger", count=2, timeout=REAL_WAIT)
    await fake_sns_sqs.settle()

    # the handler's topic is without the topic prefix (here upper-cased by the middleware); queues are prefixed
    events = [(c.data, c.arguments["topic"], c.arguments["message_type"]) for c in consumer.calls("event")]
    assert events == [("ok", "OPTIONS-EVENT", "Notification"), ("fail", "OPTIONS-EVENT", "Notification")]
    assert all(c.arguments["queue_url"].endswith("/qp-options-events") for c in consumer.calls("event"))
    [parked] = consumer.calls("park")
    assert (parked.data, parked.arguments["topic"]) == ("fail", "OPTIONS-EVENT")
    assert parked.arguments["queue_url"].endswith("/qp-options-events-dlq")
    # the middleware gets the topic without the prefix, and every transport value by keyword
    topics = sorted({topic for topic, _ in consumer.instance.middleware_saw})
    assert topics == ["options-event", "options-ledger.fifo"]
    assert consumer.instance.middleware_saw[0][1] == [
        "approximate_receive_count", "message_attributes", "message_deduplication_id", "message_group_id",
        "message_timestamp", "message_type", "message_uuid", "queue_url", "raw_message_body", "receipt_handle",
        "sns_message_id", "sqs_message_id",
    ]  # fmt: skip

    # a FIFO publish without a deduplication id: the publisher gives each one its own, which the handler gets
    ledger = consumer.calls("ledger")
    fifo_records = [p for p in fake_sns_sqs.published() if p.destination == "tp-options-ledger"]
    assert [(c.data, c.arguments["message_group_id"]) for c in ledger] == [("ok", "g1"), ("fail", "g1")]
    assert [c.arguments["message_deduplication_id"] for c in ledger] == [p.deduplication_id for p in fifo_records]
    assert all(p.deduplication_id for p in fifo_records)
    assert [p.destination for p in fake_sns_sqs.published()] == [
        "tp-options-trigger", "tp-options-event", "tp-options-ledger"
    ] * 2  # fmt: skip
    assert sorted(fake_sns_sqs.topics()) == ["tp-options-event", "tp-options-ledger.fifo", "tp-options-trigger"]

    assert [str(exc) for exc in consumer.take_errors()] == ["event fails"]
    [dead] = fake_sns_sqs.take_dead_letters()  # the decorator's max_receive_count=1: no second receive
    assert (dead.queue, dead.dead_letter_queue, dead.handler) == (
        "qp-options-events",
        "qp-options-events-dlq",
        "options-consumer.event",
    )
    assert (dead.receive_count, dead.kept, dead.reason) == (
        1,
        True,
        "handler event failed 1 time(s): RuntimeError: event fails",
    )
