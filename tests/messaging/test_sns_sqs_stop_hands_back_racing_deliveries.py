"""Stopping the SNS+SQS transport: a delivery racing the consumer cancel goes back to its queue, unhandled."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable
from typing import Any

import pytest

import tomodachi
from tomodachi.envelope import JsonBase
from tomodachi.messaging.broker import AnyBroker, Consumer, Delivery, DeliveryCallback
from tomodachi.testing.harness import ServiceHarness


class Worker(tomodachi.Service):
    name = "worker"
    message_envelope = JsonBase

    def __init__(self) -> None:
        self.calls: list[Any] = []

    @tomodachi.aws_sns_sqs("stop-work", competing=True)
    async def handler(self, data: Any) -> None:
        self.calls.append(data)


class DeliverySpy:
    """The harness's in-memory broker, telling the test when a delivery reached the transport's callback."""

    def __init__(self, broker: Any) -> None:
        self.broker = broker
        self.delivered = asyncio.Event()

    async def consume(self, subscription: Any, on_delivery: DeliveryCallback) -> Consumer:
        def told(delivery: Delivery) -> None:
            on_delivery(delivery)
            self.delivered.set()

        consumer: Consumer = await self.broker.consume(subscription, told)
        return consumer

    def __getattr__(self, name: str) -> Any:
        return getattr(self.broker, name)


async def test_a_delivery_racing_the_cancel_is_back_on_its_queue_when_stop_returns(
    tomodachi_harness: ServiceHarness, tomodachi_service: Any, fake_sns_sqs: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    if tomodachi_harness.wire != "fake":
        pytest.skip("watches the in-memory broker's deliveries; this run uses --tomodachi-wire=real")
    spy = DeliverySpy(tomodachi_harness.memory_broker("aws_sns_sqs"))

    def spying(key: Hashable, build_default: Callable[[], AnyBroker]) -> AnyBroker:
        return spy  # type: ignore[return-value]

    tomodachi_harness.environment.broker_factories["aws_sns_sqs"] = spying
    svc = await tomodachi_service(Worker)
    [subscriber] = svc.container.transports["aws_sns_sqs"].subscribers
    consumer = subscriber.consumer
    real_cancel = consumer.cancel

    async def cancel_after_a_racing_delivery() -> None:
        # a message is received between "stop accepting" and the end of the receive loop
        await fake_sns_sqs.publish("stop-work", {"n": 1})
        await spy.delivered.wait()
        await real_cancel()

    monkeypatch.setattr(consumer, "cancel", cancel_after_a_racing_delivery)
    await svc.stop()

    assert svc.instance.calls == []
    [queue] = [name for name in fake_sns_sqs.queues() if name == subscriber.subscription.queue_name]
    [message] = fake_sns_sqs.messages(queue)
    assert message.in_flight is False  # visible again at once, not after its visibility timeout
    assert message.payload and '"n": 1' in str(message.payload)
