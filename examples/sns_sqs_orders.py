"""Two services on AWS SNS+SQS: `orders` publishes, `billing` consumes with a filter policy and a dead-letter queue.

Run: tomodachi run examples/sns_sqs_orders.py   (needs AWS or an emulator configured in Options)
Test: see tests/sns_sqs/test_sns_sqs_examples.py (in-memory, no AWS).
"""

from __future__ import annotations

from typing import Any

import tomodachi
from tomodachi.envelope import JsonBase

OPTIONS = tomodachi.Options(aws_sns_sqs={"region_name": "eu-west-1", "topic_prefix": "example-"})


class Orders(tomodachi.Service):
    name = "orders"
    message_envelope = JsonBase
    options = OPTIONS

    async def place_order(self, order_id: str, total: float, currency: str) -> str:
        return str(
            await tomodachi.aws_sns_sqs_publish(
                self,
                {"order_id": order_id, "total": total},
                "order.placed",
                message_attributes={"currency": currency, "total": total},
            )
        )


class Billing(tomodachi.Service):
    name = "billing"
    message_envelope = JsonBase
    options = OPTIONS

    def __init__(self) -> None:
        self.invoiced: list[str] = []

    @tomodachi.aws_sns_sqs(
        "order.placed",
        competing=True,
        filter_policy={"currency": ["EUR", "SEK"], "total": [{"numeric": [">", 0]}]},
        dead_letter_queue_name="billing-orders-dlq",
        max_receive_count=3,
    )
    async def invoice(self, data: dict[str, Any], message_attributes: dict[str, Any]) -> None:
        self.invoiced.append(f"{data['order_id']}:{message_attributes['currency']}")
