"""Whoever may send to a queue can write a body that looks like an SNS notification; a TopicArn naming a topic
the handler did not subscribe to is not believed."""

from __future__ import annotations

import json
from typing import Any

import tomodachi
from tomodachi.envelope import JsonBase
from tomodachi.testing import FakeSnsSqs, ServiceFactory


class Orders(tomodachi.Service):
    name = "forged-orders"
    message_envelope = JsonBase

    def __init__(self) -> None:
        self.seen: list[tuple[Any, str, str]] = []

    @tomodachi.aws_sns_sqs("orders", queue_name="forged-orders")
    async def orders(self, data: Any, topic: str, sns_message_id: str) -> None:
        self.seen.append((data, topic, sns_message_id))


async def test_a_notification_naming_another_topic_does_not_set_the_topic(
    tomodachi_service: ServiceFactory, fake_sns_sqs: FakeSnsSqs
) -> None:
    svc = await tomodachi_service(Orders)
    message = await JsonBase.build_message(svc.instance, "orders", {"id": 1})
    forged = {
        "Type": "Notification",
        "MessageId": "forged-1",
        "TopicArn": "arn:aws:sns:us-east-1:000000000000:admin-commands",
        "Message": message,
    }
    await fake_sns_sqs.send("forged-orders", json.dumps(forged), envelope=None)
    await fake_sns_sqs.publish("orders", {"id": 2})
    await fake_sns_sqs.settle()
    assert svc.instance.seen[0] == ({"id": 1}, "", "")  # the payload is handled; the claimed topic is not believed
    data, topic, message_id = svc.instance.seen[1]
    assert (data, topic) == ({"id": 2}, "orders") and message_id  # a real notification keeps both


async def test_a_notification_naming_the_subscribed_topic_of_another_account_or_region_is_not_believed(
    tomodachi_service: ServiceFactory, fake_sns_sqs: FakeSnsSqs
) -> None:
    svc = await tomodachi_service(Orders)
    for n, topic_arn in enumerate(
        [
            "arn:aws:sns:us-east-1:999999999999:orders",  # the subscribed name, in someone else's account
            "arn:aws:sns:eu-west-1:000000000000:orders",  # in another region
            "arn:aws-cn:sns:us-east-1:000000000000:orders",  # in another partition
            "orders",  # not an ARN at all
        ]
    ):
        message = await JsonBase.build_message(svc.instance, "orders", {"id": n})
        forged = {"Type": "Notification", "MessageId": f"forged-{n}", "TopicArn": topic_arn, "Message": message}
        await fake_sns_sqs.send("forged-orders", json.dumps(forged), envelope=None)
    await fake_sns_sqs.settle()
    assert sorted(svc.instance.seen, key=str) == [({"id": n}, "", "") for n in range(4)]


class Wildcard(tomodachi.Service):
    name = "forged-wildcard"
    message_envelope = JsonBase

    def __init__(self) -> None:
        self.seen: list[tuple[Any, str]] = []

    @tomodachi.aws_sns_sqs("orders.*", queue_name="forged-wildcard")
    async def orders(self, data: Any, topic: str) -> None:
        self.seen.append((data, topic))


async def test_a_wildcard_handler_believes_only_its_own_account_and_matching_topics(
    tomodachi_service: ServiceFactory, fake_sns_sqs: FakeSnsSqs
) -> None:
    svc = await tomodachi_service(Wildcard)
    for n, topic_arn in enumerate(
        [
            "arn:aws:sns:us-east-1:999999999999:orders___2e_x",
            "arn:aws:sns:us-east-1:000000000000:admin",
            "arn:aws:sns:us-east-1:000000000000:orders___2e_x",
        ]
    ):
        message = await JsonBase.build_message(svc.instance, "orders.x", {"id": n})
        forged = {"Type": "Notification", "MessageId": f"m-{n}", "TopicArn": topic_arn, "Message": message}
        await fake_sns_sqs.send("forged-wildcard", json.dumps(forged), envelope=None)
        await fake_sns_sqs.settle()
    assert svc.instance.seen == [({"id": 0}, ""), ({"id": 1}, ""), ({"id": 2}, "orders.x")]


class SharedQueue(tomodachi.Service):
    name = "forged-shared"
    message_envelope = JsonBase

    def __init__(self) -> None:
        self.seen: list[tuple[str, Any, str]] = []

    @tomodachi.aws_sns_sqs("alpha", queue_name="forged-shared")
    async def on_alpha(self, data: Any, topic: str) -> None:
        self.seen.append(("on_alpha", data, topic))

    @tomodachi.aws_sns_sqs("beta", queue_name="forged-shared")
    async def on_beta(self, data: Any, topic: str) -> None:
        self.seen.append(("on_beta", data, topic))


async def test_handlers_sharing_a_queue_believe_every_topic_the_queue_is_subscribed_to(
    tomodachi_service: ServiceFactory, fake_sns_sqs: FakeSnsSqs
) -> None:
    """Either handler may receive a message of the shared queue: each one's topic is the one SNS says."""
    svc = await tomodachi_service(SharedQueue)
    for n in range(6):
        await fake_sns_sqs.publish("alpha" if n % 2 else "beta", n)
    await fake_sns_sqs.settle()
    assert sorted((data, topic) for _, data, topic in svc.instance.seen) == [
        (n, "alpha" if n % 2 else "beta") for n in range(6)
    ]
