"""Publisher half of the AMQP pub/sub example: ``POST /orders`` publishes an ``order.created`` event.

Run both halves (RabbitMQ on localhost:5672):
    tomodachi run examples/amqp_pubsub/publisher.py examples/amqp_pubsub/subscriber.py
    curl -X POST -d '{"item": "tea", "quantity": 2}' http://localhost:9700/orders
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from aiohttp import web

import tomodachi
from tomodachi.envelope import JsonBase


class OrderApi(tomodachi.Service):
    name = "example-order-api"
    message_envelope = JsonBase
    options = tomodachi.Options(http={"port": 9700}, amqp={"routing_key_prefix": "shop."})

    @tomodachi.http("POST", r"/orders")
    async def place_order(self, request: web.Request) -> tuple[int, str] | dict[str, Any]:
        try:
            order = json.loads(await request.read())
            item, quantity = str(order["item"]), int(order["quantity"])
        except (ValueError, KeyError, TypeError):
            return 400, 'expected {"item": str, "quantity": int}'
        order_id = str(uuid.uuid4())
        # published as "shop.order.created" with the JsonBase envelope; returns once the broker has it
        await tomodachi.amqp_publish(
            self, {"order_id": order_id, "item": item, "quantity": quantity}, routing_key="order.created"
        )
        return {"status": 202, "body": {"order_id": order_id}}
