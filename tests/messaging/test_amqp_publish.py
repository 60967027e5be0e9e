"""amqp_publish: envelopes, raw payloads, prefixes, properties, retries; graceful transport stop."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from amqp_rig import PlainService, Rig

from tomodachi.envelope import JsonBase
from tomodachi.messaging.amqp.api import amqp, amqp_publish
from tomodachi.messaging.amqp.exceptions import AmqpChannelClosed
from tomodachi.messaging.broker import remember_environment


class Echo(PlainService):
    name = "echo"
    message_envelope = JsonBase

    def __init__(self) -> None:
        super().__init__()
        self.got: list[Any] = []

    @amqp("ping")
    async def on_ping(self, data: Any) -> None:
        self.got.append(data)
        await amqp_publish(self, {"pong": data}, routing_key="pong")

    @amqp("pong")
    async def on_pong(self, data: Any, routing_key: str) -> None:
        self.got.append((routing_key, data))


async def test_publish_from_a_handler_round_trips(rig: Rig) -> None:
    service = Echo()
    await rig.start(service)
    await amqp_publish(service, 1, routing_key="ping")
    await rig.fake.settle()
    assert service.got == [1, ("pong", {"pong": 1})]
    record = rig.broker.published[0]
    assert record.properties.delivery_mode == 2
    assert record.properties.content_type == "application/json"
    assert record.json()["metadata"]["topic"] == "ping"


async def test_publish_applies_prefix_and_wait_false_returns_task(rig: Rig) -> None:
    service = Echo()
    remember_environment(service, rig.environment)
    service.options = {"amqp": {"routing_key_prefix": "env.", "exchange_name": "amq.topic"}}
    task = await amqp_publish(service, "raw", routing_key="a.ö", message_envelope=None, wait=False)
    assert isinstance(task, asyncio.Task)
    await task
    await amqp_publish(service, b"bytes", routing_key="b", message_envelope=None, routing_key_prefix=None)
    first, second = rig.broker.published
    assert first.routing_key == "env.a.___c3b6_"
    assert first.body == b"raw"
    assert first.properties.content_type == "text/plain; charset=utf-8"
    assert second.routing_key == "b"
    assert second.properties.content_type == "application/octet-stream"


async def test_publish_dict_without_envelope_is_a_type_error(rig: Rig) -> None:
    service = PlainService()
    remember_environment(service, rig.environment)
    with pytest.raises(TypeError, match="message envelope"):
        await amqp_publish(service, {"a": 1}, routing_key="x")
    assert rig.broker.published == []


async def test_publish_retries_a_closed_channel(rig: Rig) -> None:
    service = Echo()
    remember_environment(service, rig.environment)
    rig.fake.fail_next_publishes(times=2)
    await amqp_publish(service, 1, routing_key="x")
    assert len(rig.broker.published) == 1
    rig.fake.fail_next_publishes(times=3)
    with pytest.raises(AmqpChannelClosed):
        await amqp_publish(service, 2, routing_key="x")


class Slow(PlainService):
    name = "slow"
    message_envelope = JsonBase

    def __init__(self) -> None:
        super().__init__()
        self.started = asyncio.Event()
        self.release = asyncio.Event()
        self.finished: list[Any] = []

    @amqp("slow")
    async def handler(self, data: Any) -> None:
        self.started.set()
        await self.release.wait()
        self.finished.append(data)


async def test_stop_awaits_in_flight_handlers_then_acks(rig: Rig) -> None:
    service = Slow()
    transport = await rig.start(service)
    await rig.publish("slow", 1, envelope=JsonBase)
    await service.started.wait()
    stopping = asyncio.create_task(transport.stop(30))
    await rig.clock.settle()
    assert not stopping.done()
    assert rig.broker.consumer_count(transport.subscribers[0].subscription.queue_name) == 0  # stopped consuming
    service.release.set()
    await stopping
    assert service.finished == [1]
    assert rig.broker.unacked_count() == 0


async def test_stop_requeues_handlers_that_outlive_the_grace_period(rig: Rig) -> None:
    service = Slow()
    transport = await rig.start(service)
    await rig.publish("slow", 1, envelope=JsonBase)
    await service.started.wait()
    stopping = asyncio.create_task(transport.stop(10))
    await rig.clock.settle()
    await rig.clock.advance(10)
    await stopping
    queue = transport.subscribers[0].subscription.queue_name
    assert service.finished == []
    assert rig.broker.queue_depth(queue) == 1  # back in the queue for the next consumer, not lost
    assert rig.broker.dead_letters == []
    await transport.stop(10)  # idempotent
