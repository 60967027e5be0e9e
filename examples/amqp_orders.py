"""Example: an AMQP service that reacts to order events and publishes a follow-up event.

Run against RabbitMQ with ``tomodachi run examples/amqp_orders.py``; tests run it on the in-memory broker.
"""

from __future__ import annotations

from typing import Any

import tomodachi
from tomodachi.envelope import JsonBase


class OrderService(tomodachi.Service):
    name = "example-amqp-orders"
    message_envelope = JsonBase
    options = tomodachi.Options(amqp=tomodachi.Options.AMQP(routing_key_prefix="shop."))

    def __init__(self) -> None:
        self.shipped: list[str] = []

    @tomodachi.amqp("order.*.created")
    async def order_created(self, data: dict[str, Any], routing_key: str) -> None:
        # routing_key is the key the order was published with, e.g. "order.eu.created"
        region = routing_key.split(".")[1]
        await tomodachi.amqp_publish(
            self, {"order_id": data["order_id"], "region": region}, routing_key="shipment.requested"
        )

    @tomodachi.amqp("shipment.requested", competing=True)
    async def ship(self, data: dict[str, Any]) -> None:
        if data.get("order_id") is None:
            raise ValueError("order without id")  # retried with back-off, then dead-lettered
        self.shipped.append(f"{data['region']}:{data['order_id']}")
