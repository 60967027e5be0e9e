"""Ships what inventory reserves; also takes jobs from an SQS queue no topic feeds."""

from __future__ import annotations

from typing import Any

import tomodachi
from tomodachi.envelope import JsonBase


class Shipping(tomodachi.Service):
    name = "shipping"
    message_envelope = JsonBase
    options = tomodachi.Options(amqp={"routing_key_prefix": "dev."})

    def __init__(self) -> None:
        self.shipped: list[str] = []

    @tomodachi.amqp("stock.reserved", queue_name="shipping-reserved")
    async def reserved(self, data: dict[str, Any]) -> None:
        self.shipped.append(data["sku"])

    @tomodachi.aws_sns_sqs(queue_name="shipping-jobs")
    async def job(self, data: dict[str, Any]) -> None:
        return None
