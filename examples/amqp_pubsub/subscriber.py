"""Subscriber half of the AMQP pub/sub example: the warehouse consumes ``order.created`` events.

Run together with the publisher: ``tomodachi run examples/amqp_pubsub/publisher.py examples/amqp_pubsub/subscriber.py``.
"""

from __future__ import annotations

from typing import Any

import tomodachi
from tomodachi.envelope import JsonBase


class Warehouse(tomodachi.Service):
    name = "example-warehouse"
    message_envelope = JsonBase
    options = tomodachi.Options(amqp={"routing_key_prefix": "shop."})

    def __init__(self) -> None:
        self.picking_list: list[tuple[str, str, int]] = []

    # a named queue survives restarts and is shared by every warehouse instance (they take turns)
    @tomodachi.amqp("order.created", queue_name="warehouse-orders")
    async def order_created(self, data: dict[str, Any], service: dict[str, Any]) -> None:
        self.picking_list.append((data["order_id"], data["item"], data["quantity"]))
        tomodachi.get_logger().info("order queued for picking", order_id=data["order_id"], sender=service["name"])
