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
