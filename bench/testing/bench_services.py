"""The services the testing benchmark starts (imported by run.py and by the generated pytest module)."""

from __future__ import annotations

from typing import Any

import tomodachi
from tomodachi.envelope import JsonBase

AWS = tomodachi.Options(aws_sns_sqs={"region_name": "eu-west-1", "topic_prefix": "bench-"})


class Orders(tomodachi.Service):
    """HTTP + SNS+SQS publisher."""

    name = "orders"
    message_envelope = JsonBase
    options = AWS

    @tomodachi.http("POST", r"/orders/(?P<order_id>[0-9]+)")
    async def create(self, order_id: str) -> tuple[int, str]:
        await tomodachi.sns_publish(self, {"order_id": int(order_id)}, "order.created")
        return 202, "accepted"


class Billing(tomodachi.Service):
    """SNS+SQS consumer that publishes to AMQP."""

    name = "billing"
    message_envelope = JsonBase
    options = AWS

    @tomodachi.aws_sns_sqs("order.created", queue_name="billing-orders")
    async def order_created(self, data: dict[str, Any]) -> None:
        await tomodachi.amqp_publish(self, {"order_id": data["order_id"]}, routing_key="invoice.created")


class Accounting(tomodachi.Service):
    """AMQP consumer with an hourly scheduled function."""

    name = "accounting"
    message_envelope = JsonBase

    def __init__(self) -> None:
        self.invoices: list[Any] = []
        self.reports = 0

    @tomodachi.amqp("invoice.created")
    async def invoice_created(self, data: dict[str, Any]) -> None:
        self.invoices.append(data)

    @tomodachi.hourly
    async def report(self) -> None:
        self.reports += 1


class Sink(tomodachi.Service):
    """One AMQP handler that keeps every message's data (the messages/s case)."""

    name = "sink"
    message_envelope = JsonBase

    def __init__(self) -> None:
        self.received: list[Any] = []

    @tomodachi.amqp("bench.key")
    async def handle(self, data: Any) -> None:
        self.received.append(data)
