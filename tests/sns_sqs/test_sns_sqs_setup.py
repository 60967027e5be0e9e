"""Decorator validation, resource set-up updates (redrive, filter policy, visibility), wildcards, publish options."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

import tomodachi
from tomodachi.envelope import JsonBase
from tomodachi.messaging.sns_sqs import setup
from tomodachi.messaging.sns_sqs.api import MessageBodyFormatter, MessageBodyFormatterContext
from tomodachi.messaging.sns_sqs.descriptors import UNSET, SnsSqsSubscription
from tomodachi.messaging.sns_sqs.memory import MemorySnsSqsBroker, MemorySnsSqsClient
from tomodachi.settings_check import SettingWarning
from tomodachi.testing.clock import VirtualClock
from tomodachi.testing.fakes.sns_sqs import InMemorySnsSqs
from tomodachi.testing.ledger import Ledger


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "topic, a queue_name"),
        ({"queue_name": "q", "competing": False}, "must be competing"),
        ({"topic": "t", "visibility_timeout": 50000}, "0-43200"),
        ({"topic": "t", "visibility_timeout": "30"}, "must be an int"),
        ({"topic": "t", "dead_letter_queue_name": "d"}, "needs max_receive_count"),
        ({"topic": "t", "max_receive_count": 3}, "needs dead_letter_queue_name"),
        ({"topic": "t", "dead_letter_queue_name": "d", "max_receive_count": 0}, ">= 1"),
        ({"topic": "t", "filter_policy": {"k": "v"}}, "non-empty list"),
        ({"topic": "x" * 300}, "too long"),
        ({"queue_name": "a.b"}, "alphanumeric"),
        ({"queue_name": "q", "fifo": True}, "must end with '.fifo'"),
        ({"topic": "t", "message_envelope": object()}, "parse_message"),
    ],
)
def test_decorator_validation(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises((ValueError, TypeError), match=message):
        tomodachi.aws_sns_sqs(**kwargs)


def test_decorator_spec_and_aliases() -> None:
    with pytest.warns(SettingWarning, match="max_number_of_consumed_messages=99"):

        @tomodachi.awssnssqs("t", max_number_of_consumed_messages=99, proto_class=None, filter_policy=None)
        async def handler(data: Any) -> None: ...

    [spec] = handler._tomodachi_handler_specs  # type: ignore[attr-defined]
    assert spec.transport == "aws_sns_sqs"
    assert spec.args["max_number_of_consumed_messages"] == 10
    assert spec.args["filter_policy"] == {}
    assert spec.args["parser_kwargs"] == {"proto_class": None}
    assert spec.args["visibility_timeout"] is UNSET
    from tomodachi.transport import aws_sns_sqs, awssnssqs

    assert aws_sns_sqs.sns_publish is tomodachi.aws_sns_sqs_publish
    assert awssnssqs.awssnssqs_publish is tomodachi.awssnssqs_publish  # upstream's: its transport class's publish
    assert aws_sns_sqs.sqs_send_message is tomodachi.awssnssqs_send_message
    assert issubclass(aws_sns_sqs.AWSSNSSQSInternalServiceErrorException, aws_sns_sqs.AWSSNSSQSInternalServiceError)
    from botocore.exceptions import ClientError

    assert issubclass(aws_sns_sqs.QueueDoesNotExistError, (ClientError, aws_sns_sqs.AWSSNSSQSException))


async def test_redeclare_updates_and_removes_settings() -> None:
    broker = MemorySnsSqsBroker(VirtualClock(freeze_wall_clock=False))
    first = SnsSqsSubscription(
        queue_name="q",
        topic="t",
        filter_policy={"a": ["1"]},
        visibility_timeout=10,
        dead_letter_queue="q-dlq",
        max_receive_count=4,
    )
    declared = await broker.declare(first)
    attrs = broker.queue_attributes("q")
    assert attrs["VisibilityTimeout"] == "10"
    assert json.loads(attrs["RedrivePolicy"]) == {
        "deadLetterTargetArn": broker.queue_attributes("q-dlq")["QueueArn"],
        "maxReceiveCount": 4,
    }
    assert broker.queue_attributes("q-dlq")["MessageRetentionPeriod"] == "1209600"
    assert broker.subscriptions("t")[0].filter_policy == {"a": ["1"]}

    await broker.declare(SnsSqsSubscription(queue_name="q", topic="t"))  # all UNSET: nothing changes
    assert broker.subscriptions("t")[0].filter_policy == {"a": ["1"]}
    assert "RedrivePolicy" in broker.queue_attributes("q")

    await broker.declare(SnsSqsSubscription(queue_name="q", topic="t", filter_policy={"b": [2]}))
    assert broker.subscriptions("t")[0].filter_policy == {"b": [2]}
    await broker.declare(SnsSqsSubscription(queue_name="q", topic="t", filter_policy=None, dead_letter_queue=None))
    assert broker.subscriptions("t")[0].filter_policy is None
    assert "RedrivePolicy" not in broker.queue_attributes("q")
    assert len(broker.subscriptions("t")) == 1
    policy = json.loads(broker.queue_attributes("q")["Policy"])
    assert len(policy["Statement"]) == 1 and policy["Id"] == f"{declared.arn}/SQSDefaultPolicy"


async def test_existing_queue_arn_must_exist_and_fifo_mismatch() -> None:
    broker = MemorySnsSqsBroker(VirtualClock(freeze_wall_clock=False))
    with pytest.raises(Exception, match="does not exist"):
        await broker.declare(SnsSqsSubscription(queue_name="x", queue_arn="arn:aws:sqs:us-east-1:000000000000:x"))
    await broker.aws.create_queue("plain", {})
    with pytest.raises(Exception, match="fifo"):
        await broker.declare(SnsSqsSubscription(queue_name="plain", fifo=True))


async def test_wildcard_subscribes_existing_matching_topics() -> None:
    broker = MemorySnsSqsBroker(VirtualClock(freeze_wall_clock=False))
    for name in ("events___2e_a", "events___2e_b", "events___2e_a___2e_deep", "other"):
        await broker.aws.create_topic(name, {})
    await broker.declare(SnsSqsSubscription(queue_name="w", topic="events___2e_*"))
    assert sorted(s.topic for s in broker.subscriptions()) == ["events___2e_a", "events___2e_b"]
    policy = json.loads(broker.queue_attributes("w")["Policy"])
    assert policy["Statement"][0]["Condition"]["ArnLike"]["aws:SourceArn"].endswith(":events___2e_*")
    await InMemorySnsSqs(broker, broker.clock, Ledger()).publish("events.b", 1)
    assert len(broker.messages("w")) == 1


async def test_visibility_timeout_redelivery_with_virtual_clock() -> None:
    clock = VirtualClock(freeze_wall_clock=False)
    aws = MemorySnsSqsClient(clock)
    url = await aws.create_queue("vt", {"VisibilityTimeout": "30"})
    await aws.send_message(url, "body")
    [first] = await aws.receive_messages(url, 10, 0)
    assert await aws.receive_messages(url, 10, 0) == []
    await clock.advance(29)
    assert await aws.receive_messages(url, 10, 0) == []
    await clock.advance(1)
    [again] = await aws.receive_messages(url, 10, 0)
    assert again["Attributes"]["ApproximateReceiveCount"] == "2" and again["Body"] == "body"
    await aws.delete_message(url, again["ReceiptHandle"])
    await clock.advance(60)
    assert await aws.receive_messages(url, 10, 0) == []
    assert first["MessageId"] == again["MessageId"]


async def test_delay_and_fifo_dedup_window() -> None:
    clock = VirtualClock(freeze_wall_clock=False)
    aws = MemorySnsSqsClient(clock)
    url = await aws.create_queue("d", {})
    await aws.send_message(url, "later", delay_seconds=10)
    assert await aws.receive_messages(url, 10, 0) == []
    await clock.advance(10)
    assert len(await aws.receive_messages(url, 10, 0)) == 1
    furl = await aws.create_queue("f.fifo", setup.FIFO_QUEUE_ATTRIBUTES)
    await aws.send_message(furl, "a", group_id="g", deduplication_id="x")
    await aws.send_message(furl, "a", group_id="g", deduplication_id="x")
    assert len(aws.messages("f.fifo")) == 1
    await clock.advance(301)
    await aws.send_message(furl, "a", group_id="g", deduplication_id="x")
    assert len(aws.messages("f.fifo")) == 2
    [only] = await aws.receive_messages(furl, 1, 0)
    assert await aws.receive_messages(furl, 10, 0) == []  # the group is locked while a message is in flight
    await aws.delete_message(furl, only["ReceiptHandle"])
    assert len(await aws.receive_messages(furl, 10, 0)) == 1


class Publisher(tomodachi.Service):
    name = "publisher"
    message_envelope = JsonBase


async def test_publish_options(tomodachi_service: Any, fake_sns_sqs: Any) -> None:
    svc = await tomodachi_service(Publisher, options={"aws_sns_sqs.topic_prefix": "dev-"})
    task = await tomodachi.sns_publish(svc.instance, {"a": 1}, "t", wait=False)
    assert isinstance(task, asyncio.Task)
    await task
    await tomodachi.sns_publish(svc.instance, "raw", "t", topic_prefix=None, message_envelope=None)
    await tomodachi.sns_publish(svc.instance, 1, "g", group_id="grp", topic_attributes={"DisplayName": "G"})
    assert [r.topic for r in fake_sns_sqs.broker.published] == ["dev-t", "t", "dev-g.fifo"]
    assert [r.topic for r in fake_sns_sqs.published()] == ["dev-t", "t", "dev-g"]
    assert fake_sns_sqs.published()[1].payload == "raw"
    assert fake_sns_sqs.published()[2].deduplication_id  # generated uuid4
    fake_sns_sqs.fail_next_publishes(2)
    await tomodachi.sns_publish(svc.instance, 2, "t")  # retried (3 attempts)
    fake_sns_sqs.fail_next_publishes(3)
    from tomodachi.transport.aws_sns_sqs import AWSSNSSQSException

    with pytest.raises(AWSSNSSQSException):
        await tomodachi.sns_publish(svc.instance, 3, "t")
    with pytest.raises(TypeError):
        await tomodachi.sns_publish(svc.instance, {"not": "str"}, "t", message_envelope=None)


async def test_message_body_formatters(tomodachi_service: Any, fake_sns_sqs: Any) -> None:
    svc = await tomodachi_service(Publisher)
    await fake_sns_sqs.broker.aws.create_queue("box", {})
    await tomodachi.sqs_send_message(svc.instance, {"x": 1}, "box", message_attributes={"n": 2})
    body = json.loads(fake_sns_sqs.messages("box")[0].body)
    assert list(body) == ["Type", "QueueUrl", "Version", "Message", "Timestamp", "MessageAttributes"]
    assert body["Type"] == "Message" and body["QueueUrl"].endswith("/box")
    assert body["MessageAttributes"] == {"n": {"Type": "Number", "Value": "2"}}
    assert json.loads(body["Message"])["metadata"]["topic"] == ""

    await tomodachi.sqs_send_message(svc.instance, "raw-body", "box", message_body_formatter=None)
    assert fake_sns_sqs.messages("box")[1].body == "raw-body"

    seen: list[MessageBodyFormatterContext] = []

    async def custom(context: MessageBodyFormatterContext, **kwargs: Any) -> str:
        seen.append(context)
        return f"custom:{context.data}"

    await tomodachi.sqs_send_message(svc.instance, "d", "box", message_body_formatter=custom, delay_seconds=5)
    assert seen[0].queue_name == "box" and seen[0].formatter is custom
    assert fake_sns_sqs.messages("box")[2].body == "custom:d"
    assert isinstance(MessageBodyFormatter(), MessageBodyFormatter)


class Slow(tomodachi.Service):
    name = "slow"
    message_envelope = JsonBase
    started: asyncio.Event
    release: asyncio.Event
    done: list[Any]

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.release = asyncio.Event()
        self.done = []

    @tomodachi.aws_sns_sqs("slow")
    async def handler(self, data: Any) -> None:
        self.started.set()
        await self.release.wait()
        self.done.append(data)


async def test_graceful_stop_finishes_in_flight(tomodachi_service: Any, fake_sns_sqs: Any) -> None:
    svc = await tomodachi_service(Slow)
    await fake_sns_sqs.publish("slow", 1)
    await svc.instance.started.wait()
    stopping = asyncio.ensure_future(svc.stop())
    await asyncio.sleep(0)
    svc.instance.release.set()
    await stopping
    assert svc.instance.done == [1]
    queue = [q for q in fake_sns_sqs.queues()][0]
    assert fake_sns_sqs.messages(queue) == []
    assert not fake_sns_sqs.broker.consumers
