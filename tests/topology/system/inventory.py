"""A service with one handler of every kind, and prefixes on both buses: the topology tests' known system."""

from __future__ import annotations

from typing import Any

import tomodachi
from tomodachi.envelope import JsonBase


class Inventory(tomodachi.Service):
    name = "inventory"
    message_envelope = JsonBase
    options = tomodachi.Options(
        aws_sns_sqs={"topic_prefix": "dev-", "queue_name_prefix": "dev-"},
        amqp={"routing_key_prefix": "dev."},
    )

    def __init__(self) -> None:
        self.reserved: list[str] = []

    @tomodachi.http("GET", r"/stock/(?P<sku>\w+)")
    async def check_stock(self, sku: str) -> str:
        return "3"

    @tomodachi.websocket(r"/live")
    async def live(self, websocket: Any) -> None:
        return None

    @tomodachi.http_error(status_code=404)
    async def not_found(self) -> str:
        return "no such thing"

    @tomodachi.aws_sns_sqs(
        "order.placed",
        queue_name="inventory-orders",
        filter_policy={"country": ["SE"]},
        dead_letter_queue_name="inventory-orders-dlq",
        max_receive_count=3,
    )
    async def reserve(self, data: dict[str, Any]) -> None:
        self.reserved.append(data["sku"])
        await tomodachi.amqp_publish(self, {"sku": data["sku"]}, routing_key="stock.reserved")

    @tomodachi.amqp("stock.#", queue_name="inventory-stock")
    async def stock_changed(self, data: dict[str, Any]) -> None:
        return None

    @tomodachi.schedule(interval=300)
    async def recount(self) -> None:
        await tomodachi.amqp_publish(self, {"count": 3}, routing_key="inventory.recounted")

    @tomodachi.daily(timezone="Europe/Stockholm")
    async def report(self) -> None:
        return None
