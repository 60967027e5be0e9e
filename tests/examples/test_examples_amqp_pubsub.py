"""examples/amqp_pubsub/: an HTTP request to the publisher reaches the subscriber through the in-memory RabbitMQ."""

from __future__ import annotations

from typing import Any


async def test_order_flows_from_publisher_to_subscriber(
    tomodachi_service: Any, fake_amqp: Any, load_example: Any
) -> None:
    warehouse = await tomodachi_service(load_example("amqp_pubsub/subscriber.py").Warehouse)
    api = await tomodachi_service(load_example("amqp_pubsub/publisher.py").OrderApi)

    async with api.http.post("/orders", json={"item": "tea", "quantity": 2}) as response:
        assert response.status == 202
        order_id = (await response.json())["order_id"]
    await fake_amqp.settle()

    assert warehouse.instance.picking_list == [(order_id, "tea", 2)]
    [published] = fake_amqp.published()
    assert published.routing_key == "shop.order.created"
    assert published.json()["service"]["name"] == "example-order-api"


async def test_invalid_order_is_rejected_and_not_published(
    tomodachi_service: Any, fake_amqp: Any, load_example: Any
) -> None:
    warehouse = await tomodachi_service(load_example("amqp_pubsub/subscriber.py").Warehouse)
    api = await tomodachi_service(load_example("amqp_pubsub/publisher.py").OrderApi)
    async with api.http.post("/orders", data=b'{"item": "tea"}') as response:
        assert response.status == 400
    await fake_amqp.settle()
    assert fake_amqp.published() == [] and warehouse.instance.picking_list == []
