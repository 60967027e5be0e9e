"""Payments: charges the card of every ``order.placed`` (SNS+SQS) and confirms with ``payment.completed`` (AMQP).

A declined card raises ``PaymentDeclined`` on every attempt, so its message is retried with back-off and, after
the third receive, moved to the dead-letter queue ``shop-payments-orders-dlq`` for a human to look at.

Run: tomodachi run examples/shop/payments.py   (needs AWS SNS+SQS and RabbitMQ)
Test: tests/examples/test_examples_shop.py
"""

from __future__ import annotations

from typing import Any

import tomodachi
from tomodachi.envelope import JsonBase


class PaymentDeclined(Exception):
    """The card was refused."""


class Payments(tomodachi.Service):
    name = "shop-payments"
    message_envelope = JsonBase
    options = tomodachi.Options(aws_sns_sqs={"region_name": "eu-west-1"})

    def __init__(self) -> None:
        self.charged: dict[str, int] = {}  # order id -> cents

    @tomodachi.aws_sns_sqs(
        "order.placed",
        queue_name="shop-payments-orders",
        dead_letter_queue_name="shop-payments-orders-dlq",
        max_receive_count=3,
    )
    async def charge(self, data: dict[str, Any]) -> None:
        order_id, amount = data["order_id"], data["amount"]
        # SQS delivers at least once, and a failed publish below retries the message: never charge twice
        if order_id not in self.charged:
            await self.charge_card(order_id, data["card"], amount)
            self.charged[order_id] = amount
        await tomodachi.amqp_publish(self, {"order_id": order_id, "amount": amount}, routing_key="payment.completed")

    async def charge_card(self, order_id: str, card: str, amount: int) -> None:
        """Stands in for the payment provider's API."""
        if card == "declined":
            raise PaymentDeclined(f"card declined for order {order_id} ({amount} cents)")
