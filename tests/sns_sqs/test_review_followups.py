"""Review follow-ups: malformed attributes from foreign senders, receive-loop crashes, robust stop."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

import tomodachi
from tomodachi.messaging.broker import Delivery
from tomodachi.messaging.sns_sqs.consumer import RESTART_DELAY, SqsReceiver
from tomodachi.messaging.sns_sqs.memory import MemorySnsSqsBroker
from tomodachi.testing.clock import VirtualClock


class AttributeReader(tomodachi.Service):
    name = "attribute-reader"
    got: list[Any]

    def __init__(self) -> None:
        self.got = []

    @tomodachi.aws_sns_sqs(queue_name="followup-attributes")
    async def inbox(self, body: str, message_attributes: dict[str, Any]) -> None:
        self.got.append((body, message_attributes))


async def test_a_malformed_string_array_attribute_reaches_the_handler_raw(
    tomodachi_service: Any, fake_sns_sqs: Any
) -> None:
    svc = await tomodachi_service(AttributeReader)
    queue_url = await fake_sns_sqs.get_queue_url("followup-attributes")
    malformed = {"tags": {"DataType": "String.Array", "StringValue": "[not json"}}
    await fake_sns_sqs.send_message(queue_url, "hello", message_attributes=malformed)
    await fake_sns_sqs.drain()
    assert svc.instance.got == [("hello", {"tags": "[not json"})]
    assert fake_sns_sqs.dead_letters("followup-attributes") == []


async def test_an_unexpected_error_restarts_the_receive_loop_after_a_delay(caplog: pytest.LogCaptureFixture) -> None:
    clock = VirtualClock(freeze_wall_clock=False)
    broker = MemorySnsSqsBroker(clock)
    queue_url = await broker.create_queue("followup-receiver", {"VisibilityTimeout": "30"})
    handled: list[str] = []

    def on_delivery(delivery: Delivery) -> None:
        if not handled:
            handled.append("crash")
            raise RuntimeError("injected on_delivery crash")
        handled.append(delivery.text())
        asyncio.get_running_loop().create_task(delivery.ack())

    receiver = SqsReceiver(broker, queue_url, on_delivery, clock=clock)
    receiver.start()
    try:
        with caplog.at_level(logging.ERROR, logger="tomodachi.awssnssqs"):
            await broker.send_message(queue_url, "first")
            await clock.advance(0)
            assert handled == ["crash"]
            [record] = [r for r in caplog.records if r.exc_info]
            assert "injected on_delivery crash" in str(record.exc_info[1] if record.exc_info else "")
            await broker.send_message(queue_url, "second")
            await clock.advance(RESTART_DELAY - 1)
            assert handled == ["crash"]  # not restarted yet: the delay is on the Clock
            await clock.advance(1)
            assert handled == ["crash", "second"]
            await clock.advance(30)  # the crashed batch's message comes back after its visibility timeout
            assert handled == ["crash", "second", "first"]
    finally:
        await receiver.cancel()
