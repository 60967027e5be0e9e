"""The AMQP bus through the pytest plugin: tomodachi_service + fake_amqp + virtual_clock, and the example."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import tomodachi
from tomodachi.envelope import JsonBase

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


class Svc(tomodachi.Service):
    name = "svc"
    message_envelope = JsonBase

    def __init__(self) -> None:
        self.received: list[Any] = []

    @tomodachi.amqp("order.*")
    async def on_order(self, data: Any, routing_key: str) -> None:
        self.received.append((data, routing_key))
        if data.get("fail"):
            raise RuntimeError("cannot handle")
        await tomodachi.amqp_publish(self, data, routing_key="done")


async def test_service_consumes_and_publishes(tomodachi_service: Any, fake_amqp: Any) -> None:
    svc = await tomodachi_service(Svc)
    await fake_amqp.publish("order.created", {"id": 1}, envelope=JsonBase)
    await fake_amqp.settle()
    assert svc.instance.received == [({"id": 1}, "order.created")]
    assert [p.routing_key for p in fake_amqp.published()] == ["order.created", "done"]


async def test_retry_and_dead_letter_on_the_virtual_clock(
    tomodachi_service: Any, fake_amqp: Any, virtual_clock: Any
) -> None:
    svc = await tomodachi_service(Svc)
    await fake_amqp.publish("order.created", {"fail": True}, envelope=JsonBase)
    await fake_amqp.settle()
    await virtual_clock.advance(1)
    await fake_amqp.settle()
    await virtual_clock.advance(2)
    await fake_amqp.settle()
    assert len(svc.instance.received) == 3
    assert len(fake_amqp.take_dead_letters()) == 1
    assert [type(e) for e in svc.take_errors()] == [RuntimeError] * 3


async def test_options_prefix_from_the_harness(tomodachi_service: Any, fake_amqp: Any) -> None:
    svc = await tomodachi_service(Svc, options={"amqp.routing_key_prefix": "test."})
    await fake_amqp.publish("test.order.x", {"id": 2}, envelope=JsonBase)
    await fake_amqp.settle()
    assert svc.instance.received == [({"id": 2}, "order.x")]  # the prefix is not part of the handler's key
    assert fake_amqp.published()[-1].routing_key == "test.done"


async def test_example_service(tomodachi_service: Any, fake_amqp: Any, virtual_clock: Any) -> None:
    svc = await tomodachi_service(EXAMPLES / "amqp_orders.py")
    await fake_amqp.publish("shop.order.eu.created", {"order_id": "A1"}, envelope=JsonBase)
    await fake_amqp.settle()
    assert svc.instance.shipped == ["eu:A1"]

    await fake_amqp.publish("shop.shipment.requested", {"region": "us"}, envelope=JsonBase)
    for delay in (0, 1, 2):
        await virtual_clock.advance(delay)
        await fake_amqp.settle()
    assert "order without id" in fake_amqp.take_dead_letters()[0].reason
    svc.expect_errors(ValueError)
