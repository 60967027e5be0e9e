"""SNS+SQS: malformed attributes from foreign senders, receive-loop crashes, robust stop."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

import tomodachi
from tomodachi.messaging.broker import Delivery
from tomodachi.messaging.sns_sqs.consumer import RESTART_DELAY, SqsReceiver
from tomodachi.messaging.sns_sqs.memory import MemorySnsSqsClient
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
    queue_url = await fake_sns_sqs.broker.get_queue_url("followup-attributes")
    malformed = {"tags": {"DataType": "String.Array", "StringValue": "[not json"}}
    await fake_sns_sqs.broker.aws.send_message(queue_url, "hello", message_attributes=malformed)
    await fake_sns_sqs.settle()
    assert svc.instance.got == [("hello", {"tags": "[not json"})]
    assert fake_sns_sqs.dead_letters("followup-attributes") == []


async def test_an_unexpected_error_restarts_the_receive_loop_after_a_delay(caplog: pytest.LogCaptureFixture) -> None:
    clock = VirtualClock(freeze_wall_clock=False)
    aws = MemorySnsSqsClient(clock)
    queue_url = await aws.create_queue("followup-receiver", {"VisibilityTimeout": "30"})
    handled: list[str] = []

    def on_delivery(delivery: Delivery) -> None:
        if not handled:
            handled.append("crash")
            raise RuntimeError("injected on_delivery crash")
        handled.append(delivery.text())
        asyncio.get_running_loop().create_task(delivery.ack())

    receiver = SqsReceiver(aws, queue_url, on_delivery, clock=clock)
    receiver.start()
    try:
        with caplog.at_level(logging.ERROR, logger="tomodachi.awssnssqs"):
            await aws.send_message(queue_url, "first")
            await clock.advance(0)
            assert handled == ["crash"]
            [record] = [r for r in caplog.records if r.exc_info]
            assert "injected on_delivery crash" in str(record.exc_info[1] if record.exc_info else "")
            await aws.send_message(queue_url, "second")
            await clock.advance(RESTART_DELAY - 1)
            assert handled == ["crash"]  # not restarted yet: the delay is on the Clock
            await clock.advance(1)
            assert handled == ["crash", "second"]
            await clock.advance(30)  # the crashed batch's message comes back after its visibility timeout
            assert handled == ["crash", "second", "first"]
    finally:
        await receiver.cancel()


class Gated(tomodachi.Service):
    name = "gated"
    started: list[str]
    finished: list[str]

    def __init__(self) -> None:
        self.started, self.finished = [], []
        self.gate = asyncio.Event()

    @tomodachi.aws_sns_sqs(queue_name="followup-gated")
    async def inbox(self, body: str) -> None:
        self.started.append(body)
        await self.gate.wait()
        self.finished.append(body)


async def _started(svc: Any, clock: Any) -> None:
    for _ in range(20):
        if svc.instance.started:
            return
        await clock.advance(0)
    raise AssertionError("the handler did not start")


async def test_stop_goes_on_when_a_consumer_cancel_fails(
    tomodachi_service: Any, fake_sns_sqs: Any, virtual_clock: Any, caplog: pytest.LogCaptureFixture
) -> None:
    svc = await tomodachi_service(Gated)
    await fake_sns_sqs.send("followup-gated", "in flight", envelope=None)
    await _started(svc, virtual_clock)
    released: list[bool] = []

    async def failing_cancel() -> None:
        raise RuntimeError("injected cancel failure")

    async def release() -> None:
        released.append(True)

    consumers = list(fake_sns_sqs.broker.consumers)
    for consumer in consumers:
        consumer.cancel = failing_cancel
    fake_sns_sqs.broker.release = release
    try:
        with caplog.at_level(logging.ERROR, logger="tomodachi.awssnssqs"):
            stopping = asyncio.ensure_future(svc.stop())
            await virtual_clock.advance(1)
            assert not stopping.done()  # still awaiting the in-flight handler, within the grace period
            svc.instance.gate.set()
            await asyncio.wait_for(stopping, 5)
    finally:
        for consumer in consumers:
            del consumer.cancel  # the fixture's teardown cancels them for real
    assert svc.instance.finished == ["in flight"]
    assert fake_sns_sqs.messages("followup-gated") == []  # handled and deleted, not cut off
    assert released == [True]
    assert any("injected cancel failure" in str(r.exc_info[1]) for r in caplog.records if r.exc_info)


class Stubborn(tomodachi.Service):
    name = "stubborn"

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.let_go = asyncio.Event()

    @tomodachi.aws_sns_sqs(queue_name="followup-stubborn")
    async def inbox(self, body: str) -> None:
        self.started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            await self.let_go.wait()  # swallows the cancel and goes on


async def test_stop_is_bounded_when_a_handler_swallows_its_cancel(
    tomodachi_service: Any, fake_sns_sqs: Any, virtual_clock: Any, caplog: pytest.LogCaptureFixture
) -> None:
    svc = await tomodachi_service(Stubborn)
    await fake_sns_sqs.send("followup-stubborn", "stuck", envelope=None)
    for _ in range(20):
        if svc.instance.started.is_set():
            break
        await virtual_clock.advance(0)
    stopping = asyncio.ensure_future(svc.stop())
    try:
        with caplog.at_level(logging.WARNING, logger="tomodachi.awssnssqs"):
            for _ in range(20):
                await virtual_clock.advance(5)  # past the grace period (30 s by default) and the cancel bound
                if stopping.done():
                    break
            await asyncio.wait_for(stopping, 5)
        [message] = fake_sns_sqs.messages("followup-stubborn")
        assert not message.in_flight  # handed back for another consumer, not left with the stuck handler
        assert any("did not end" in r.getMessage() for r in caplog.records), caplog.text
    finally:
        svc.instance.let_go.set()
        stopping.cancel()
