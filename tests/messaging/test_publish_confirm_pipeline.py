"""A handler's publishes are confirmed before its delivery is acked, and one not confirmed fails it (retried, not
deduplicated) or its scheduled run; with the in-memory broker the publish scope costs and changes nothing."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from typing import Any

from amqp_rig import PlainService, Rig

import tomodachi
from tomodachi.envelope import JsonBase
from tomodachi.handlers import specs_of
from tomodachi.messaging.amqp.api import amqp, amqp_publish
from tomodachi.messaging.broker import Delivery
from tomodachi.messaging.publish_scope import PublishScope, UnconfirmedPublishError, current_scope
from tomodachi.runtime.environment import Environment
from tomodachi.runtime.transport import BoundHandler, TransportContext
from tomodachi.testing.clock import VirtualClock
from tomodachi.transport.schedule.transport import create_transport as create_schedule_transport


class ConfirmingPublisher(PlainService):
    """Its handler "publishes" like a confirming broker does: the publish is tracked in the unit of work's scope
    and the test decides when (and how) RabbitMQ would have confirmed it."""

    name = "confirming"
    message_envelope = JsonBase

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[Any] = []
        self.unconfirmed: list[PublishScope] = []
        self.called = asyncio.Event()

    @amqp("orders.created")
    async def handler(self, data: Any) -> None:
        self.calls.append(data)
        scope = current_scope()
        assert scope is not None
        scope.track()
        self.unconfirmed.append(scope)
        self.called.set()

    async def next_call(self) -> PublishScope:
        await asyncio.wait_for(self.called.wait(), 5)
        self.called.clear()
        return self.unconfirmed[-1]


def in_flight(rig: Rig) -> Delivery:
    [delivery] = rig.broker.unsettled
    return delivery


async def test_delivery_is_acked_only_once_its_publishes_are_confirmed(rig: Rig) -> None:
    service = ConfirmingPublisher()
    await rig.start(service)
    await rig.publish("orders.created", {"id": 1}, envelope=JsonBase)
    scope = await service.next_call()
    delivery = in_flight(rig)
    await asyncio.sleep(0)
    assert not delivery.settled  # the handler returned, its publish is not confirmed yet

    scope.resolve()
    assert await asyncio.wait_for(delivery.wait_settled(completed=True), 5) == "ack"
    assert rig.errors == []


async def test_handler_whose_publish_is_not_confirmed_is_retried_not_acked_nor_deduplicated(rig: Rig) -> None:
    service = ConfirmingPublisher()
    await rig.start(service)
    await rig.publish("orders.created", {"id": 2}, envelope=JsonBase)
    scope = await service.next_call()
    delivery = in_flight(rig)

    scope.resolve(RuntimeError("RabbitMQ refused the message (nack)"))
    assert await asyncio.wait_for(delivery.wait_settled(completed=True), 5) == "retry"
    [(error, where)] = rig.errors
    assert isinstance(error, UnconfirmedPublishError) and where == "confirming.handler"

    # the retry runs the handler again (same message uuid: not skipped as a duplicate), and this time it works
    await rig.clock.advance(1)
    scope = await service.next_call()
    retried = in_flight(rig)
    scope.resolve()
    assert await asyncio.wait_for(retried.wait_settled(completed=True), 5) == "ack"
    assert service.calls == [{"id": 2}, {"id": 2}]
    assert rig.broker.dead_letters == []


class MemoryPublisher(PlainService):
    name = "relay"
    message_envelope = JsonBase

    def __init__(self) -> None:
        super().__init__()
        self.scopes: list[PublishScope | None] = []

    @amqp("orders.created")
    async def handler(self, data: Any) -> None:
        await amqp_publish(self, data, routing_key="orders.relayed")
        self.scopes.append(current_scope())


async def test_scope_settle_is_a_no_op_with_the_in_memory_broker(rig: Rig) -> None:
    service = MemoryPublisher()
    await rig.start(service)
    await rig.publish("orders.created", {"id": 3}, envelope=JsonBase)
    await rig.fake.settle()

    [scope] = service.scopes
    assert scope is not None and scope.pending == 0 and scope.errors is None  # nothing was left to confirm
    assert [m.routing_key for m in rig.broker.published] == ["orders.created", "orders.relayed"]
    assert not rig.broker.unsettled and rig.broker.dead_letters == [] and rig.errors == []


class ScheduledPublisher(tomodachi.Service):
    name = "scheduled"

    def __init__(self) -> None:
        self.unconfirmed: list[PublishScope] = []
        self.ran = asyncio.Event()

    @tomodachi.schedule(interval=60)
    async def tick(self) -> None:
        scope = current_scope()
        assert scope is not None
        scope.track()
        self.unconfirmed.append(scope)
        self.ran.set()


async def test_scheduled_run_whose_publish_is_not_confirmed_is_reported_as_failed() -> None:
    clock = VirtualClock(datetime(2024, 3, 1, 12, 0, tzinfo=timezone.utc)).freeze()
    errors: list[tuple[BaseException, str]] = []
    reported = asyncio.Event()

    def report_error(exc: BaseException, where: str) -> None:
        errors.append((exc, where))
        reported.set()

    service = ScheduledPublisher()
    handlers = tuple(
        BoundHandler(name="tick", func=service.tick, spec=spec)
        for spec in specs_of(ScheduledPublisher.tick)
        if spec.transport == "schedule"
    )
    environment = Environment(clock=clock, report_error=report_error)
    transport = create_schedule_transport(
        TransportContext(service=service, options=None, environment=environment, handlers=handlers)
    )
    await transport.setup()
    await transport.start()
    try:
        await clock.advance(60)
        await asyncio.wait_for(service.ran.wait(), 5)
        [scope] = service.unconfirmed
        scope.resolve(RuntimeError("connection lost before RabbitMQ confirmed it"))
        await asyncio.wait_for(reported.wait(), 5)
        [(error, where)] = errors
        assert isinstance(error, UnconfirmedPublishError) and where == "scheduled.tick"
    finally:
        await transport.stop(0)
        clock.unfreeze()
