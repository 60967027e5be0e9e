"""The shop's front door: ``POST /orders`` takes an order and announces it on SNS as ``order.placed``;
``GET /orders/<id>`` returns the order with its status, which turns ``paid`` when ``payment.completed`` arrives
over AMQP from payments.py.

Run: tomodachi run examples/shop/orders.py   (HTTP on port 9700; needs AWS SNS+SQS and RabbitMQ)
     curl -X POST -d '{"order_id": "o-1", "amount": 1250, "card": "4242"}' http://localhost:9700/orders
Test: tests/examples/test_examples_shop.py
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

import tomodachi
from tomodachi.envelope import JsonBase

USAGE = 'expected JSON {"order_id": str, "amount": int (cents, > 0), "card": str}'


class Orders(tomodachi.Service):
    name = "shop-orders"
    message_envelope = JsonBase
    options = tomodachi.Options(http={"port": 9700}, aws_sns_sqs={"region_name": "eu-west-1"})

    def __init__(self) -> None:
        # in memory to keep the example short; a real shop keeps its orders in a database
        self.orders: dict[str, dict[str, Any]] = {}

    @tomodachi.http("POST", r"/orders/?")
    async def place_order(self, request: web.Request) -> tuple[int, str] | dict[str, Any]:
        try:
            body = await request.json()
            order_id, amount, card = body["order_id"], body["amount"], body["card"]
        except (ValueError, KeyError, TypeError):
            return 400, USAGE
        # bool is an int too, and a float amount would be silently rounded: accept whole cents only
        valid = isinstance(amount, int) and not isinstance(amount, bool) and amount > 0
        if not (valid and isinstance(order_id, str) and isinstance(card, str)):
            return 400, USAGE
        if order_id in self.orders:
            return 409, f"order {order_id} already exists"

        # stored before it is announced, so a payment confirmation can never arrive for an unknown order
        self.orders[order_id] = {"order_id": order_id, "amount": amount, "status": "placed"}
        try:
            # the card number travels to payments only; orders never stores it
            order = {"order_id": order_id, "amount": amount, "card": card}
            await tomodachi.aws_sns_sqs_publish(self, order, topic="order.placed")
        except Exception:
            del self.orders[order_id]  # never announced: the client may retry the same order id
            raise
        return {"status": 202, "body": {"order_id": order_id, "status": "placed"}}

    @tomodachi.http("GET", r"/orders/(?P<order_id>[^/]+)/?")
    async def order_status(self, order_id: str) -> tuple[int, str] | dict[str, Any]:
        order = self.orders.get(order_id)
        if order is None:
            return 404, f"no order {order_id}"
        return {"body": order}

    @tomodachi.amqp("payment.completed", queue_name="shop-orders-payments")
    async def payment_completed(self, data: dict[str, Any]) -> None:
        order = self.orders.get(data["order_id"])
        if order is not None:
            order["status"] = "paid"
