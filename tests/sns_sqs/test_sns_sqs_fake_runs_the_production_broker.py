"""The in-memory SNS+SQS runs the broker code that runs on AWS: the queue-URL and topic-ARN caches and their
stale-cache retries, one topic lookup shared by concurrent first publishes, the drain marker that ends a stopping
consumer's long poll — and that marker is in no record and never a loss."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import tomodachi
from tomodachi.envelope import JsonBase
from tomodachi.messaging.sns_sqs.broker import SnsSqsBroker
from tomodachi.messaging.sns_sqs.consumer import DRAIN_MESSAGE_PAYLOAD, MISSING_QUEUE_DELAY
from tomodachi.messaging.sns_sqs.descriptors import SnsPublication, SqsPublication
from tomodachi.messaging.sns_sqs.exceptions import QueueDoesNotExistError
from tomodachi.messaging.sns_sqs.memory import MemorySnsSqsBroker
from tomodachi.testing.clock import VirtualClock


def new_broker() -> MemorySnsSqsBroker:
    return MemorySnsSqsBroker(VirtualClock(freeze_wall_clock=False))


def test_the_in_memory_broker_is_the_production_broker_class_over_the_in_memory_aws() -> None:
    broker = new_broker()
    assert isinstance(broker, SnsSqsBroker)
    overridden = {name for name in vars(type(broker)) if callable(getattr(SnsSqsBroker, name, None))}
    assert overridden <= {"__init__"}  # declare, consume, publish, close, acquire, release: all the production code
    assert broker.client is broker.aws


async def test_a_stale_queue_url_is_looked_up_once_more_and_then_reported_missing() -> None:
    broker = new_broker()
    url = await broker.aws.create_queue("inbox", {})
    calls = broker.aws.calls
    await broker.publish(SqsPublication(queue="inbox", body="1"))
    await broker.publish(SqsPublication(queue="inbox", body="2"))
    assert (calls["get_queue_url"], calls["send_message"]) == (1, 2)  # the URL is cached: one request per message

    await broker.aws.delete_queue(url)
    with pytest.raises(QueueDoesNotExistError):
        await broker.publish(SqsPublication(queue="inbox", body="3"))
    # the send failed on the cached URL, which was forgotten; one more lookup found no queue
    assert (calls["get_queue_url"], calls["send_message"]) == (2, 3)

    await broker.aws.create_queue("inbox", {})
    await broker.publish(SqsPublication(queue="inbox", body="4"))
    assert (calls["get_queue_url"], calls["send_message"]) == (3, 4)
    assert [m.body for m in broker.messages("inbox")] == ["4"]


async def test_concurrent_first_publishes_to_one_topic_share_one_lookup() -> None:
    broker = new_broker()
    await asyncio.gather(*(broker.publish(SnsPublication(topic="t", message=str(i))) for i in range(5)))
    calls = broker.aws.calls
    assert (calls["find_topic"], calls["create_topic"], calls["sns_publish"]) == (1, 1, 5)
    await broker.publish(SnsPublication(topic="t", message="later"))
    assert (calls["find_topic"], calls["sns_publish"]) == (1, 6)  # the ARN is cached


async def test_a_cached_topic_that_was_deleted_is_created_again_by_the_next_publish() -> None:
    broker = new_broker()
    await broker.publish(SnsPublication(topic="t", message="1"))
    await broker.aws.delete_topic(broker.topic_arns["t"])
    await broker.publish(SnsPublication(topic="t", message="2"))
    calls = broker.aws.calls
    assert (calls["create_topic"], calls["sns_publish"]) == (2, 3)  # the publish on the stale ARN failed: NotFound
    assert [r.message for r in broker.published] == ["1", "2"]
    assert broker.topics() == ["t"]


class Inbox(tomodachi.Service):
    name = "inbox"
    message_envelope = JsonBase
    got: list[Any]

    def __init__(self) -> None:
        self.got = []

    @tomodachi.aws_sns_sqs("drain-topic", queue_name="drain-inbox")
    async def on_message(self, data: Any) -> None:
        self.got.append(data)


class Colleague(Inbox):
    name = "colleague"


async def test_stopping_a_service_ends_its_long_poll_with_a_drain_marker_that_is_in_no_record(
    tomodachi_service: Any, fake_sns_sqs: Any, virtual_clock: Any
) -> None:
    svc = await tomodachi_service(Inbox)
    await fake_sns_sqs.settle()
    calls = fake_sns_sqs.broker.aws.calls
    before = dict(calls)
    started = virtual_clock.now()
    await asyncio.wait_for(svc.stop(), 5)
    # the marker was sent to the polled queue, ended the poll and was deleted by the receiver that got it
    sent = {op: calls[op] - before.get(op, 0) for op in ("send_message", "delete_message", "receive_messages")}
    assert sent == {"send_message": 1, "delete_message": 1, "receive_messages": 0}
    assert virtual_clock.now() == started  # no drain timeout waited for
    assert fake_sns_sqs.published() == []
    assert fake_sns_sqs.messages("drain-inbox") == []
    assert fake_sns_sqs.dead_letters() == []
    assert svc.calls("on_message") == []


async def test_a_drain_marker_a_competing_consumer_takes_does_not_hold_up_the_stop(
    tomodachi_service: Any, fake_sns_sqs: Any, virtual_clock: Any
) -> None:
    stopping = await tomodachi_service(Inbox)
    staying = await tomodachi_service(Colleague)
    await fake_sns_sqs.settle()
    started = virtual_clock.now()
    await asyncio.wait_for(stopping.stop(), 5)
    assert virtual_clock.now() == started
    assert fake_sns_sqs.messages("drain-inbox") == []
    await fake_sns_sqs.publish("drain-topic", {"n": 1})
    await fake_sns_sqs.settle()
    assert (stopping.instance.got, staying.instance.got) == ([], [{"n": 1}])


async def test_a_leftover_drain_marker_is_deleted_by_the_next_consumer_unseen(
    tomodachi_service: Any, fake_sns_sqs: Any
) -> None:
    url = await fake_sns_sqs.broker.aws.create_queue("drain-inbox", {})
    await fake_sns_sqs.broker.aws.send_message(url, DRAIN_MESSAGE_PAYLOAD)  # left by a receiver stopped earlier
    assert fake_sns_sqs.messages("drain-inbox") == [] and fake_sns_sqs.published() == []
    svc = await tomodachi_service(Inbox)
    await fake_sns_sqs.settle()
    assert svc.calls("on_message") == [] and fake_sns_sqs.dead_letters() == []
    assert fake_sns_sqs.broker.aws.calls["delete_message"] == 1


async def test_a_drain_marker_leaves_the_next_injected_publish_failure_to_the_next_publish(
    tomodachi_service: Any, fake_sns_sqs: Any
) -> None:
    svc = await tomodachi_service(Inbox)
    await fake_sns_sqs.settle()
    fake_sns_sqs.fail_next_publishes()
    await svc.stop()
    with pytest.raises(Exception, match="injected publish failure"):
        await fake_sns_sqs.send("drain-inbox", {"n": 1})


async def test_a_queue_deleted_under_a_running_consumer_is_created_again_as_on_aws(
    tomodachi_service: Any, fake_sns_sqs: Any, virtual_clock: Any
) -> None:
    svc = await tomodachi_service(Inbox)
    await fake_sns_sqs.settle()
    aws = fake_sns_sqs.broker.aws
    await aws.delete_queue(await aws.get_queue_url("drain-inbox"))
    await fake_sns_sqs.settle()
    assert "drain-inbox" not in fake_sns_sqs.queues()
    await virtual_clock.advance(MISSING_QUEUE_DELAY)  # the receive loop waits, then re-creates queue and subscription
    await fake_sns_sqs.settle()
    assert [s.queue for s in fake_sns_sqs.subscriptions("drain-topic")] == ["drain-inbox"]
    await fake_sns_sqs.publish("drain-topic", {"n": 2})
    await fake_sns_sqs.settle()
    assert svc.instance.got == [{"n": 2}]
