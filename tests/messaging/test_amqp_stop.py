"""Stopping the AMQP transport: deliveries racing the consumer cancel, handlers that will not be cancelled."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from amqp_rig import PlainService, Rig

from tomodachi.envelope import JsonBase
from tomodachi.messaging.amqp.api import amqp
from tomodachi.messaging.amqp.memory import MemoryAmqpDelivery
from tomodachi.messaging.shutdown import CANCEL_TIMEOUT


class Worker(PlainService):
    name = "worker"
    message_envelope = JsonBase

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[Any] = []

    @amqp("stop.work")
    async def handler(self, data: Any) -> None:
        self.calls.append(data)


async def _race_a_delivery_with_the_cancel(rig: Rig, transport: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    [subscriber] = transport.subscribers
    consumer = subscriber.consumer
    assert consumer is not None
    real_cancel = consumer.cancel

    async def cancel_after_a_racing_delivery() -> None:
        # a message arrives between "stop accepting" and the broker's cancel-ok
        await rig.publish("stop.work", {"n": 1}, envelope=JsonBase)
        await real_cancel()

    monkeypatch.setattr(consumer, "cancel", cancel_after_a_racing_delivery)


async def test_a_delivery_racing_the_cancel_is_back_on_the_queue_when_stop_returns(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = Worker()
    transport = await rig.start(service)
    await _race_a_delivery_with_the_cancel(rig, transport, monkeypatch)
    await rig.stop()
    assert service.calls == []
    [queue] = [name for name in rig.broker.queue_names() if not name.endswith(".dlq")]
    assert (rig.broker.queue_depth(queue), rig.broker.unacked_count(queue)) == (1, 0)


async def test_a_failing_hand_back_of_a_racing_delivery_is_logged(
    rig: Rig, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    service = Worker()
    transport = await rig.start(service)
    await _race_a_delivery_with_the_cancel(rig, transport, monkeypatch)

    async def failing_retry(self: MemoryAmqpDelivery, delay: float) -> None:
        raise RuntimeError("injected hand-back failure")

    monkeypatch.setattr(MemoryAmqpDelivery, "_retry", failing_retry)
    with caplog.at_level(logging.ERROR, logger="tomodachi.amqp"):
        await rig.stop()
    assert service.calls == []
    assert any("injected hand-back failure" in str(r.exc_info[1]) for r in caplog.records if r.exc_info), caplog.text


class Stubborn(PlainService):
    name = "stubborn"
    message_envelope = JsonBase

    def __init__(self) -> None:
        super().__init__()
        self.started = asyncio.Event()
        self.let_go = asyncio.Event()

    @amqp("stop.stubborn")
    async def handler(self, data: Any) -> None:
        self.started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            await self.let_go.wait()  # swallows the cancel and goes on


async def test_stop_is_bounded_when_a_handler_swallows_its_cancel(rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    service = Stubborn()
    transport = await rig.start(service)
    await rig.publish("stop.stubborn", {"n": 1}, envelope=JsonBase)
    await asyncio.wait_for(service.started.wait(), 5)
    stopping = asyncio.ensure_future(transport.stop(10))
    try:
        with caplog.at_level(logging.WARNING, logger="tomodachi.amqp"):
            await rig.clock.advance(10)  # the grace period ends: the handler is cancelled and ignores it
            await rig.clock.advance(CANCEL_TIMEOUT)
            await asyncio.wait_for(stopping, 5)
        [queue] = [name for name in rig.broker.queue_names() if not name.endswith(".dlq")]
        # handed back for redelivery rather than left with the stuck handler
        assert (rig.broker.queue_depth(queue), rig.broker.unacked_count(queue)) == (1, 0)
        assert any("did not end" in r.getMessage() for r in caplog.records), caplog.text
    finally:
        service.let_go.set()
        stopping.cancel()
