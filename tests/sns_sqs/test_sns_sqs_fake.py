"""Services on the in-memory SNS+SQS: delivery between services, filter policies, FIFO, DLQ, sends, visibility."""

from __future__ import annotations

from typing import Any

import pytest

import tomodachi
from tomodachi.envelope import JsonBase
from tomodachi.messaging.sns_sqs import naming
from tomodachi.transport.aws_sns_sqs import AWSSNSSQSInternalServiceError


class Orders(tomodachi.Service):
    name = "orders"
    message_envelope = JsonBase

    async def place(self, order_id: int, **attrs: Any) -> str:
        return str(
            await tomodachi.aws_sns_sqs_publish(self, {"id": order_id}, "order.created", message_attributes=attrs)
        )


class Billing(tomodachi.Service):
    name = "billing"
    message_envelope = JsonBase
    seen: list[Any]

    def __init__(self) -> None:
        self.seen = []

    @tomodachi.aws_sns_sqs("order.created")
    async def on_order(self, data: Any, topic: str, message_type: str, sns_message_id: str, service: Any) -> None:
        self.seen.append((data, topic, message_type, bool(sns_message_id), service["name"]))


async def test_topic_to_queue_between_two_services(tomodachi_service: Any, fake_sns_sqs: Any) -> None:
    billing = await tomodachi_service(Billing)
    orders = await tomodachi_service(Orders)
    message_id = await orders.instance.place(7)
    await fake_sns_sqs.settle()
    assert billing.instance.seen == [({"id": 7}, "order.created", "Notification", True, "orders")]
    record = fake_sns_sqs.published()[-1]
    assert record.message_id == message_id and record.data == {"id": 7}
    assert fake_sns_sqs.broker.published[-1].topic == "order___2e_created"  # '.' is encoded instead of refused
    queue = naming.queue_name("order.created", "on_order", billing.instance.uuid, competing=None)
    assert record.delivered_to == (queue,)
    assert fake_sns_sqs.messages(queue) == []  # deleted after success


class Filtered(tomodachi.Service):
    name = "filtered"
    message_envelope = JsonBase
    seen: list[Any]

    def __init__(self) -> None:
        self.seen = []

    @tomodachi.aws_sns_sqs("prices", filter_policy={"currency": ["EUR"], "amount": [{"numeric": [">", 100]}]})
    async def big_euro(self, data: Any, message_attributes: dict[str, Any]) -> None:
        self.seen.append((data, message_attributes))


async def test_filter_policy(tomodachi_service: Any, fake_sns_sqs: Any) -> None:
    svc = await tomodachi_service(Filtered)
    await fake_sns_sqs.publish("prices", 1, attributes={"currency": "EUR", "amount": 500})
    await fake_sns_sqs.publish("prices", 2, attributes={"currency": "USD", "amount": 500})
    await fake_sns_sqs.publish("prices", 3, attributes={"currency": "EUR", "amount": 5})
    await fake_sns_sqs.publish("prices", 4)
    await fake_sns_sqs.settle()
    assert svc.instance.seen == [(1, {"currency": "EUR", "amount": 500})]
    [subscription] = fake_sns_sqs.subscriptions("prices")
    assert subscription.filter_policy == {"currency": ["EUR"], "amount": [{"numeric": [">", 100]}]}


class Fifo(tomodachi.Service):
    name = "fifo"
    message_envelope = JsonBase
    seen: list[Any]

    def __init__(self) -> None:
        self.seen = []

    @tomodachi.aws_sns_sqs("ledger", fifo=True)
    async def entry(self, data: Any, message_group_id: str, topic: str) -> None:
        self.seen.append((message_group_id, data, topic))


async def test_fifo_order_per_group_and_dedup(tomodachi_service: Any, fake_sns_sqs: Any) -> None:
    svc = await tomodachi_service(Fifo)
    for i in range(4):
        await fake_sns_sqs.publish("ledger", i, group_id="a" if i % 2 == 0 else "b", deduplication_id=f"d{i}")
    await fake_sns_sqs.publish("ledger", 0, group_id="a", deduplication_id="d0")  # duplicate within 5 minutes
    await fake_sns_sqs.settle()
    assert [d for g, d, _ in svc.instance.seen if g == "a"] == [0, 2]
    assert [d for g, d, _ in svc.instance.seen if g == "b"] == [1, 3]
    assert {t for _, _, t in svc.instance.seen} == {"ledger.fifo"}
    assert "ledger.fifo" in fake_sns_sqs.topics()


class Flaky(tomodachi.Service):
    name = "flaky"
    message_envelope = JsonBase
    attempts: list[int]

    def __init__(self) -> None:
        self.attempts = []

    @tomodachi.aws_sns_sqs("jobs", dead_letter_queue_name="jobs-dlq", max_receive_count=3)
    async def work(self, data: Any, approximate_receive_count: int) -> None:
        self.attempts.append(approximate_receive_count)
        raise RuntimeError("boom")


async def test_dead_letter_after_max_receive_count(
    tomodachi_service: Any, fake_sns_sqs: Any, virtual_clock: Any
) -> None:
    svc = await tomodachi_service(Flaky)
    await fake_sns_sqs.publish("jobs", {"n": 1})
    await fake_sns_sqs.settle()
    for _ in range(5):
        await virtual_clock.advance(60)
        await fake_sns_sqs.settle()
    assert svc.instance.attempts == [1, 2, 3]
    queue = naming.queue_name("jobs", "work", svc.instance.uuid, competing=None)
    [dead] = fake_sns_sqs.take_dead_letters(queue)
    assert dead.data == {"n": 1}
    assert fake_sns_sqs.messages(queue) == []
    assert "jobs-dlq" in fake_sns_sqs.queues()
    assert len(svc.take_errors()) == 3


class InternalError(tomodachi.Service):
    name = "internal"
    message_envelope = JsonBase
    message_error_policy = "upstream"
    calls: list[int]

    def __init__(self) -> None:
        self.calls = []

    @tomodachi.aws_sns_sqs("work", visibility_timeout=30)
    async def handler(self, data: Any, approximate_receive_count: int) -> None:
        self.calls.append(approximate_receive_count)
        if approximate_receive_count < 2:
            raise AWSSNSSQSInternalServiceError("try again")


async def test_internal_error_redelivers_on_clock(
    tomodachi_service: Any, fake_sns_sqs: Any, virtual_clock: Any
) -> None:
    svc = await tomodachi_service(InternalError)
    await fake_sns_sqs.publish("work", "x")
    await fake_sns_sqs.settle()
    assert svc.instance.calls == [1]
    await virtual_clock.advance(0.5)
    await fake_sns_sqs.settle()
    assert svc.instance.calls == [1]
    await virtual_clock.advance(60)
    await fake_sns_sqs.settle()
    assert svc.instance.calls == [1, 2]
    svc.expect_errors(AWSSNSSQSInternalServiceError)


class Receiver(tomodachi.Service):
    name = "receiver"
    message_envelope = JsonBase
    got: list[Any]

    def __init__(self) -> None:
        self.got = []

    @tomodachi.aws_sns_sqs(queue_name="inbox", visibility_timeout=45)
    async def inbox(self, data: Any, message_type: str, topic: str, message_attributes: dict[str, Any]) -> None:
        self.got.append((data, message_type, topic, message_attributes))

    async def send(self, data: Any) -> str:
        return str(await tomodachi.sqs_send_message(self, data, "inbox", message_attributes={"k": [1, "a"]}))


async def test_sqs_send_message_and_topicless_queue(tomodachi_service: Any, fake_sns_sqs: Any) -> None:
    svc = await tomodachi_service(Receiver)
    assert fake_sns_sqs.queue_attributes("inbox")["VisibilityTimeout"] == "45"  # applied without a topic
    await svc.instance.send({"hello": "world"})
    await fake_sns_sqs.settle()
    assert svc.instance.got == [({"hello": "world"}, "Message", "", {"k": [1, "a"]})]
    from tomodachi.transport.aws_sns_sqs import QueueDoesNotExistError

    with pytest.raises(QueueDoesNotExistError):
        await tomodachi.sqs_send_message(svc.instance, "x", "nope")
    with pytest.raises(ValueError, match="group_id"):
        await tomodachi.sqs_send_message(svc.instance, "x", "inbox.fifo")


class TwoTopicsOneQueue(tomodachi.Service):
    name = "two"
    message_envelope = JsonBase
    got: list[Any]

    def __init__(self) -> None:
        self.got = []

    @tomodachi.aws_sns_sqs("alpha", queue_name="shared")
    async def a(self, data: Any, topic: str) -> None:
        self.got.append((topic, data))

    @tomodachi.aws_sns_sqs("beta", queue_name="shared")
    async def b(self, data: Any, topic: str) -> None:
        self.got.append((topic, data))


async def test_queue_policy_statements_merge(tomodachi_service: Any, fake_sns_sqs: Any) -> None:
    svc = await tomodachi_service(TwoTopicsOneQueue)
    import json

    policy = json.loads(fake_sns_sqs.queue_attributes("shared")["Policy"])
    sources = sorted(s["Condition"]["ArnEquals"]["aws:SourceArn"].rsplit(":", 1)[-1] for s in policy["Statement"])
    assert sources == ["alpha", "beta"]  # upstream replaced the first statement with the second
    await fake_sns_sqs.publish("alpha", 1)
    await fake_sns_sqs.publish("beta", 2)
    await fake_sns_sqs.settle()
    assert sorted(d for _, d in svc.instance.got) == [1, 2]


class Raw(tomodachi.Service):
    name = "raw"
    got: list[Any]

    def __init__(self) -> None:
        self.got = []

    @tomodachi.aws_sns_sqs("raw-topic")
    async def handler(self, body: str, topic: str) -> None:
        self.got.append((body, topic))


async def test_without_envelope_first_param_gets_raw_message(tomodachi_service: Any, fake_sns_sqs: Any) -> None:
    svc = await tomodachi_service(Raw)
    await fake_sns_sqs.publish("raw-topic", "plain text", envelope=None)
    await fake_sns_sqs.settle()
    assert svc.instance.got == [("plain text", "raw-topic")]


async def test_receive_faults_are_retried(tomodachi_service: Any, fake_sns_sqs: Any, virtual_clock: Any) -> None:
    svc = await tomodachi_service(Raw)
    fake_sns_sqs.fail_next_receives(2)
    await fake_sns_sqs.publish("raw-topic", "after faults", envelope=None)
    for _ in range(3):
        await virtual_clock.advance(1)
    await fake_sns_sqs.settle()
    assert svc.instance.got == [("after faults", "raw-topic")]


class Middleware(tomodachi.Service):
    name = "mw"
    message_envelope = JsonBase
    calls: list[Any]

    def __init__(self) -> None:
        self.calls = []
        self.message_middleware = [self.mw]

    async def mw(self, func: Any, service: Any, message: Any, topic: str, context: dict[str, Any], **kw: Any) -> Any:
        self.calls.append(("mw", topic, sorted(kw)[:3]))
        return await func()

    @tomodachi.aws_sns_sqs("mw-topic")
    async def handler(self, data: Any) -> None:
        self.calls.append(("handler", data))


async def test_message_middleware(tomodachi_service: Any, fake_sns_sqs: Any) -> None:
    svc = await tomodachi_service(Middleware)
    await fake_sns_sqs.publish("mw-topic", 5)
    await fake_sns_sqs.settle()
    assert svc.instance.calls[0][:2] == ("mw", "mw-topic")
    assert svc.instance.calls[1] == ("handler", 5)


@pytest.mark.parametrize("delay", [-5, 901])
async def test_a_delay_outside_what_sqs_allows_is_refused_like_sqs(
    tomodachi_service: Any, fake_sns_sqs: Any, delay: int
) -> None:
    svc = await tomodachi_service(Receiver)
    with pytest.raises(Exception, match="DelaySeconds is invalid"):
        await tomodachi.sqs_send_message(svc.instance, "late", "inbox", delay_seconds=delay)
    with pytest.raises(Exception, match="DelaySeconds is invalid"):
        await fake_sns_sqs.send("inbox", "late", delay_seconds=delay)
    assert fake_sns_sqs.messages("inbox") == []


@pytest.mark.parametrize("view", ["messages", "queue_attributes", "dead_letter_queue_of"])
async def test_a_queue_view_of_an_unknown_queue_is_a_key_error_listing_the_queues(
    tomodachi_service: Any, fake_sns_sqs: Any, view: str
) -> None:
    await tomodachi_service(Receiver)
    with pytest.raises(KeyError, match="no queue 'inbx'; declared queues: inbox"):
        getattr(fake_sns_sqs, view)("inbx")
