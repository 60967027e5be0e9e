"""Services on the real aiobotocore broker against moto: delivery, filter policies, FIFO, DLQ, sends, attributes."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from sns_sqs_support import wait_for

import tomodachi
from tomodachi.envelope import JsonBase
from tomodachi.messaging.sns_sqs import naming
from tomodachi.messaging.sns_sqs.aws_client import AwsSnsSqsClient
from tomodachi.testing.harness import ServiceHarness
from tomodachi.transport.aws_sns_sqs import AWSSNSSQSInternalServiceError, QueueDoesNotExistError

TIMEOUT = 15.0


async def queue_counts(aws: AwsSnsSqsClient, queue: str) -> tuple[int, int]:
    url = await aws.get_queue_url(queue)
    assert url is not None, f"queue {queue} does not exist"
    attributes = await aws.get_queue_attributes(url)
    return int(attributes["ApproximateNumberOfMessages"]), int(attributes["ApproximateNumberOfMessagesNotVisible"])


async def receive_all(aws: AwsSnsSqsClient, queue: str, expected: int) -> list[dict[str, Any]]:
    url = await aws.get_queue_url(queue)
    assert url is not None
    found: list[dict[str, Any]] = []

    async def more() -> bool:
        found.extend(await aws.receive_messages(url, 10, 1))
        return len(found) >= expected

    await wait_for(more, TIMEOUT, interval=0)
    return found


class Inbox:
    """Collects handler calls; ``await inbox.get()`` waits (bounded) for the next one."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[Any] = asyncio.Queue()
        self.items: list[Any] = []

    def put(self, item: Any) -> None:
        self.items.append(item)
        self.queue.put_nowait(item)

    async def get(self, timeout: float = TIMEOUT) -> Any:
        return await asyncio.wait_for(self.queue.get(), timeout)


# ---- topic -> queue between two services -------------------------------------------------------------------


class Orders(tomodachi.Service):
    name = "orders"
    message_envelope = JsonBase

    async def place(self, order_id: int, **attrs: Any) -> str:
        return str(await tomodachi.sns_publish(self, {"id": order_id}, "order.created", message_attributes=attrs))


class Billing(tomodachi.Service):
    name = "billing"
    message_envelope = JsonBase

    def __init__(self) -> None:
        self.inbox = Inbox()

    @tomodachi.aws_sns_sqs("order.created")
    async def on_order(
        self,
        data: Any,
        topic: str,
        message_type: str,
        sns_message_id: str,
        service: Any,
        message_attributes: dict[str, Any],
        approximate_receive_count: int,
    ) -> None:
        self.inbox.put((data, topic, message_type, sns_message_id, service["name"], message_attributes))


async def test_topic_to_queue_between_two_services(
    harness: ServiceHarness, options: dict[str, Any], prefix: str, aws: AwsSnsSqsClient
) -> None:
    billing = await harness.start(Billing, options=options)
    orders = await harness.start(Orders, options=options)
    attrs = {"currency": "EUR", "amount": 12, "price": 1.5, "raw": b"\x00\xff", "tags": ["a", "b"], "flag": True}
    message_id = await orders.instance.place(7, **attrs)
    data, topic, message_type, sns_message_id, sender, received_attrs = await billing.instance.inbox.get()
    assert (data, topic, message_type, sender) == ({"id": 7}, "order.created", "Notification", "orders")
    assert sns_message_id == message_id
    assert received_attrs == attrs
    # names exactly as upstream derives them; the message was deleted after the handler succeeded
    queue = naming.queue_name(
        "order.created", "on_order", billing.instance.uuid, competing=None, queue_name_prefix=prefix
    )
    assert queue == prefix + naming.queue_name("order.created", "on_order", billing.instance.uuid, competing=None)
    assert await aws.find_topic(f"{prefix}order___2e_created") is not None
    await wait_for(lambda: _is_empty(aws, queue), TIMEOUT)


async def _is_empty(aws: AwsSnsSqsClient, queue: str) -> bool:
    return await queue_counts(aws, queue) == (0, 0)


async def test_publish_and_send_cost_one_request_per_message(
    harness: ServiceHarness, options: dict[str, Any], prefix: str
) -> None:
    """Topic ARNs and queue URLs are cached per broker: no lookups per message."""
    billing = await harness.start(Billing, options=options)
    orders = await harness.start(Orders, options=options)
    [broker] = harness.environment.brokers()
    before = dict(broker.calls)
    for i in range(3):
        await orders.instance.place(i)
    for _ in range(3):
        await billing.instance.inbox.get()
    await tomodachi.sns_publish(orders.instance, {"id": 9}, "order.created", topic_prefix=f"{prefix}other-")
    calls = {k: v - before.get(k, 0) for k, v in broker.calls.items() if v != before.get(k, 0)}
    assert calls["publish"] == 4
    # the differently-prefixed topic is a different cache entry (it is created), the first is looked up once
    assert calls["create_topic"] == 1 and calls.get("get_topic_attributes", 0) <= 2
    assert broker.topic_arns[f"{prefix}order___2e_created"].endswith(f":{prefix}order___2e_created")
    assert f"{prefix}other-order___2e_created" in broker.topic_arns


# ---- filter policies -------------------------------------------------------------------------------------


class Filtered(tomodachi.Service):
    name = "filtered"
    message_envelope = JsonBase

    def __init__(self) -> None:
        self.inbox = Inbox()

    @tomodachi.aws_sns_sqs(
        "prices", queue_name="prices-big-euro", filter_policy={"currency": ["EUR"], "amount": [{"numeric": [">", 100]}]}
    )
    async def big_euro(self, data: Any, message_attributes: dict[str, Any]) -> None:
        self.inbox.put((data, message_attributes))


class FilteredUsd(Filtered):
    name = "filtered-usd"

    @tomodachi.aws_sns_sqs("prices", queue_name="prices-big-euro", filter_policy={"currency": ["USD"]})
    async def big_euro(self, data: Any, message_attributes: dict[str, Any]) -> None:
        self.inbox.put((data, message_attributes))


class Unfiltered(Filtered):
    name = "unfiltered"

    @tomodachi.aws_sns_sqs("prices", queue_name="prices-big-euro", filter_policy=None)
    async def big_euro(self, data: Any, message_attributes: dict[str, Any]) -> None:
        self.inbox.put((data, message_attributes))


async def _filter_policy(aws: AwsSnsSqsClient, topic: str) -> Any:
    arn = await aws.find_topic(topic)
    assert arn is not None
    [subscription] = await aws.list_subscriptions_by_topic(arn)
    policy = (await aws.get_subscription_attributes(subscription["SubscriptionArn"])).get("FilterPolicy")
    return json.loads(policy) if policy else {}


async def test_filter_policy_set_changed_removed(
    harness: ServiceHarness, options: dict[str, Any], prefix: str, aws: AwsSnsSqsClient
) -> None:
    svc = await harness.start(Filtered, options=options)
    assert await _filter_policy(aws, f"{prefix}prices") == {"currency": ["EUR"], "amount": [{"numeric": [">", 100]}]}
    publisher = await harness.start(Orders, options=options)
    for n, attrs in enumerate(
        [{"currency": "USD", "amount": 500}, {"currency": "EUR", "amount": 5}, {}, {"currency": "EUR", "amount": 500}]
    ):
        await tomodachi.sns_publish(publisher.instance, n, "prices", message_attributes=attrs)
    assert await svc.instance.inbox.get() == (3, {"currency": "EUR", "amount": 500})
    await wait_for(lambda: _is_empty(aws, f"{prefix}prices-big-euro"), TIMEOUT)
    assert svc.instance.inbox.items == [(3, {"currency": "EUR", "amount": 500})]  # SNS dropped the others
    await svc.stop()

    # a changed policy replaces the subscription's, a removed one ("None") lets everything through
    usd = await harness.start(FilteredUsd, options=options)
    assert await _filter_policy(aws, f"{prefix}prices") == {"currency": ["USD"]}
    await tomodachi.sns_publish(publisher.instance, 10, "prices", message_attributes={"currency": "EUR"})
    await tomodachi.sns_publish(publisher.instance, 11, "prices", message_attributes={"currency": "USD"})
    assert await usd.instance.inbox.get() == (11, {"currency": "USD"})
    await usd.stop()
    everything = await harness.start(Unfiltered, options=options)
    assert await _filter_policy(aws, f"{prefix}prices") == {}
    await tomodachi.sns_publish(publisher.instance, 12, "prices")
    assert await everything.instance.inbox.get() == (12, {})


# ---- FIFO ------------------------------------------------------------------------------------------------


class FifoConsumer(tomodachi.Service):
    name = "fifo"
    message_envelope = JsonBase

    def __init__(self) -> None:
        self.inbox = Inbox()

    @tomodachi.aws_sns_sqs("ledger", fifo=True, queue_name="ledger.fifo")
    async def on_entry(self, data: Any, topic: str, message_group_id: str, message_deduplication_id: str) -> None:
        self.inbox.put((message_group_id, data, topic, bool(message_deduplication_id)))


async def test_fifo_order_per_group(
    harness: ServiceHarness, options: dict[str, Any], prefix: str, aws: AwsSnsSqsClient
) -> None:
    svc = await harness.start(FifoConsumer, options=options)
    publisher = await harness.start(Orders, options=options)
    for i in range(4):
        for group in ("a", "b"):
            await tomodachi.sns_publish(publisher.instance, i, "ledger", group_id=group)
    got = [await svc.instance.inbox.get() for _ in range(8)]
    for group in ("a", "b"):
        assert [data for g, data, _, _ in got if g == group] == [0, 1, 2, 3]
    assert {topic for _, _, topic, _ in got} == {"ledger.fifo"} and all(dedup for *_, dedup in got)
    attributes = await aws.get_queue_attributes(str(await aws.get_queue_url(f"{prefix}ledger.fifo")))
    assert attributes["FifoQueue"] == "true" and attributes["DeduplicationScope"] == "messageGroup"
    topic_arn = await aws.find_topic(f"{prefix}ledger.fifo")
    assert topic_arn is not None
    assert (await aws.get_topic_attributes(topic_arn))["FifoTopic"] == "true"


# ---- dead-letter queues ----------------------------------------------------------------------------------


class Failing(tomodachi.Service):
    name = "failing"
    message_envelope = JsonBase

    def __init__(self) -> None:
        self.inbox = Inbox()

    @tomodachi.aws_sns_sqs(
        "jobs", queue_name="jobs", visibility_timeout=1, dead_letter_queue_name="jobs-dlq", max_receive_count=2
    )
    async def on_job(self, data: Any, approximate_receive_count: int) -> None:
        self.inbox.put((data, approximate_receive_count))
        raise RuntimeError("job failed")


class FailingUpstreamPolicy(Failing):
    """Upstream's policy: only internal-service errors keep the message; SQS's redrive moves it to the DLQ."""

    name = "failing-upstream"
    message_error_policy = "upstream"

    @tomodachi.aws_sns_sqs(
        "jobs", queue_name="jobs", visibility_timeout=1, dead_letter_queue_name="jobs-dlq", max_receive_count=2
    )
    async def on_job(self, data: Any, approximate_receive_count: int) -> None:
        self.inbox.put((data, approximate_receive_count))
        raise AWSSNSSQSInternalServiceError("try again")


@pytest.mark.parametrize("service", [Failing, FailingUpstreamPolicy])
async def test_dead_letter_after_max_receive_count(
    harness: ServiceHarness, options: dict[str, Any], prefix: str, aws: AwsSnsSqsClient, service: type
) -> None:
    svc = await harness.start(service, options=options)
    svc.expect_errors(RuntimeError, AWSSNSSQSInternalServiceError)
    attributes = await aws.get_queue_attributes(str(await aws.get_queue_url(f"{prefix}jobs")))
    redrive = json.loads(attributes["RedrivePolicy"])
    assert redrive["maxReceiveCount"] == 2 and redrive["deadLetterTargetArn"].endswith(f":{prefix}jobs-dlq")
    assert attributes["VisibilityTimeout"] == "1"
    publisher = await harness.start(Orders, options=options)
    await tomodachi.sns_publish(publisher.instance, {"job": 1}, "jobs")
    assert [await svc.instance.inbox.get() for _ in range(2)] == [({"job": 1}, 1), ({"job": 1}, 2)]
    [dead] = await receive_all(aws, f"{prefix}jobs-dlq", 1)
    assert json.loads(json.loads(dead["Body"])["Message"])["data"] == {"job": 1}
    await wait_for(lambda: _is_empty(aws, f"{prefix}jobs"), TIMEOUT)
    assert len(svc.instance.inbox.items) == 2
    fake = harness.fake("aws_sns_sqs")
    if service.__name__ == "Failing":  # dead-lettered by the pipeline; an internal error is left to SQS redrive
        # the pipeline records the loss once its give-up finished: under load that may follow the DLQ's receipt

        async def recorded() -> Any:
            return fake.dead_letters(f"{prefix}jobs")

        await wait_for(recorded, TIMEOUT)
    lost = fake.take_dead_letters(f"{prefix}jobs")
    if service.__name__ == "Failing":
        assert [(d.receive_count, d.data) for d in lost] == [(2, {"job": 1})]


# ---- sqs_send_message ------------------------------------------------------------------------------------


class QueueReader(tomodachi.Service):
    name = "queue-reader"
    message_envelope = JsonBase

    def __init__(self) -> None:
        self.inbox = Inbox()

    @tomodachi.aws_sns_sqs(queue_name="work", visibility_timeout=7)
    async def on_work(self, data: Any, message_type: str, topic: str, message_attributes: dict[str, Any]) -> None:
        self.inbox.put((data, message_type, topic, message_attributes))

    @tomodachi.aws_sns_sqs(queue_name="work-ordered.fifo", fifo=True)
    async def on_ordered(self, data: Any, message_group_id: str) -> None:
        self.inbox.put((data, message_group_id))


async def test_sqs_send_message(
    harness: ServiceHarness, options: dict[str, Any], prefix: str, aws: AwsSnsSqsClient
) -> None:
    reader = await harness.start(QueueReader, options=options)
    sender = await harness.start(Orders, options=options)
    attrs = {"kind": "task", "n": 3}
    await tomodachi.sqs_send_message(sender.instance, {"task": 1}, "work", message_attributes=attrs)
    assert await reader.instance.inbox.get() == ({"task": 1}, "Message", "", attrs)
    url = await aws.get_queue_url(f"{prefix}work")
    assert url is not None
    assert (await aws.get_queue_attributes(url))["VisibilityTimeout"] == "7"  # applied to topic-less queues
    await tomodachi.sqs_send_message(sender.instance, {"task": 2}, url)  # by URL
    assert (await reader.instance.inbox.get())[0] == {"task": 2}
    await tomodachi.sqs_send_message(sender.instance, {"task": 3}, "work-ordered.fifo", group_id="g")
    assert await reader.instance.inbox.get() == ({"task": 3}, "g")
    with pytest.raises(QueueDoesNotExistError):
        await tomodachi.sqs_send_message(sender.instance, {"task": 4}, "no-such-queue")


# ---- encryption options ----------------------------------------------------------------------------------


class Encrypted(tomodachi.Service):
    name = "encrypted"
    message_envelope = JsonBase

    @tomodachi.aws_sns_sqs("secrets", queue_name="secrets")
    async def on_secret(self, data: Any) -> None:
        pass


async def test_kms_options_set_unset_and_left_alone(
    harness: ServiceHarness, options: dict[str, Any], prefix: str, aws: AwsSnsSqsClient
) -> None:
    kms = {
        "aws_sns_sqs.sqs_kms_master_key_id": "alias/aws/sqs",
        "aws_sns_sqs.sqs_kms_data_key_reuse_period": 600,
        "aws_sns_sqs.sns_kms_master_key_id": "alias/aws/sns",
    }
    svc = await harness.start(Encrypted, options={**options, **kms})

    async def current() -> tuple[str | None, str | None, str | None]:
        queue = await aws.get_queue_attributes(str(await aws.get_queue_url(f"{prefix}secrets")))
        topic_arn = await aws.find_topic(f"{prefix}secrets")
        assert topic_arn is not None
        topic = await aws.get_topic_attributes(topic_arn)
        return queue.get("KmsMasterKeyId"), queue.get("KmsDataKeyReusePeriodSeconds"), topic.get("KmsMasterKeyId")

    assert await current() == ("alias/aws/sqs", "600", "alias/aws/sns")
    await svc.stop()
    svc = await harness.start(Encrypted, options=options)  # None: left alone
    assert await current() == ("alias/aws/sqs", "600", "alias/aws/sns")
    await svc.stop()
    await harness.start(Encrypted, options={**options, "aws_sns_sqs.sqs_kms_master_key_id": ""})  # "": disabled
    assert (await current())[0] is None
