"""Faults on both in-memory fakes, one vocabulary: duplicates, failed attempts, reordering, latency, redelivery
under a running handler and outages — deterministic on the virtual clock."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import tomodachi
from tomodachi.envelope import JsonBase
from tomodachi.messaging.amqp.exceptions import AmqpChannelClosed
from tomodachi.messaging.sns_sqs.client import AwsApiError
from tomodachi.messaging.sns_sqs.exceptions import AWSSNSSQSException
from tomodachi.testing import InjectedFailure, TestSystem, system

BUSES = ("amqp", "aws_sns_sqs")


class Recorder(tomodachi.Service):
    """One handler per bus on a named queue; records what it saw and how often each message came."""

    name = "recorder"
    message_envelope = JsonBase

    def __init__(self) -> None:
        self.seen: list[Any] = []
        self.gate: asyncio.Event | None = None
        self.started = asyncio.Event()

    async def _record(self, data: Any) -> None:
        self.seen.append(data)
        if self.gate is not None:
            self.started.set()
            await self.gate.wait()

    @tomodachi.amqp("work.item", queue_name="work")
    async def on_amqp(self, data: Any) -> None:
        await self._record(data)

    @tomodachi.aws_sns_sqs("work-item", queue_name="work")
    async def on_sqs(self, data: Any) -> None:
        await self._record(data)


class Deduplicating(Recorder):
    """Like Recorder, but its messages carry no envelope uuid: duplicates reach the handler."""

    name = "raw-recorder"
    message_envelope = None

    @tomodachi.amqp("work.item", queue_name="work")
    async def on_amqp(self, message: Any) -> None:
        await self._record(message)

    @tomodachi.aws_sns_sqs("work-item", queue_name="work")
    async def on_sqs(self, message: Any) -> None:
        await self._record(message)


def fake_of(shop: TestSystem, bus: str) -> Any:
    return shop.fake_amqp if bus == "amqp" else shop.fake_sns_sqs


def destination(bus: str) -> str:
    return "work.item" if bus == "amqp" else "work-item"


def handler(bus: str) -> str:
    return "on_amqp" if bus == "amqp" else "on_sqs"


@pytest.mark.parametrize("bus", BUSES)
async def test_duplicate_next_delivers_the_next_message_copies_times(bus: str) -> None:
    async with system(Deduplicating) as shop:
        fake = fake_of(shop, bus)
        fake.duplicate_next("work", copies=3)
        await fake.publish(destination(bus), "once", envelope=None)
        await fake.publish(destination(bus), "twice?", envelope=None)
        await shop.settle()
        assert shop.service("raw-recorder").instance.seen == ["once", "once", "once", "twice?"]
        assert len(shop.service("raw-recorder").calls(handler(bus))) == 4


@pytest.mark.parametrize("bus", BUSES)
async def test_a_duplicated_json_base_message_is_handled_once_by_its_uuid(bus: str) -> None:
    async with system(Recorder) as shop:
        fake = fake_of(shop, bus)
        fake.duplicate_next("work")
        await fake.publish(destination(bus), {"n": 1})
        await shop.settle()
        assert shop.service("recorder").instance.seen == [{"n": 1}]


@pytest.mark.parametrize("bus", BUSES)
async def test_failed_deliveries_count_as_attempts_then_dead_letter(bus: str) -> None:
    async with system(Recorder) as shop:
        fake = fake_of(shop, bus)
        fake.fail_next_deliveries("work", times=3)
        await fake.publish(destination(bus), {"n": 1})
        await shop.run_until_idle(limit="1 minute")
        recorder = shop.service("recorder")
        assert recorder.instance.seen == []  # the handler never ran
        calls = recorder.calls(handler(bus))
        assert [type(c.exception) for c in calls] == [InjectedFailure] * 3
        assert [c.data for c in calls] == [{"n": 1}] * 3
        [dead] = fake.take_dead_letters("work")
        assert (dead.receive_count, dead.data) == (3, {"n": 1}) and "InjectedFailure" in dead.reason
        assert recorder.take_errors() == []  # injected failures are in the call records, not the handler errors


@pytest.mark.parametrize("bus", BUSES)
async def test_a_failed_delivery_is_retried_and_then_handled(bus: str) -> None:
    async with system(Recorder) as shop:
        fake = fake_of(shop, bus)
        fake.fail_next_deliveries("work", exc=ValueError("flaky"))
        await fake.publish(destination(bus), {"n": 2})
        await shop.settle()
        assert shop.service("recorder").instance.seen == []
        assert [p.kind for p in shop.pending()] == ["retry back-off" if bus == "amqp" else "visibility timeout"]
        await shop.run_until_idle(limit="1 minute")
        assert shop.service("recorder").instance.seen == [{"n": 2}]
        assert fake.dead_letters() == []


@pytest.mark.parametrize("bus", BUSES)
async def test_reorder_shuffles_by_seed_and_the_same_seed_gives_the_same_order(bus: str) -> None:
    async def delivered_order(seed: int) -> list[Any]:
        async with system(Recorder) as shop:
            fake = fake_of(shop, bus)
            fake.reorder("work", seed=seed)
            for n in range(12):
                await fake.publish(destination(bus), n)
            await shop.settle()
            return list(shop.service("recorder").instance.seen)

    first, again, other = await delivered_order(7), await delivered_order(7), await delivered_order(8)
    assert sorted(first) == list(range(12))
    assert first != list(range(12))  # shuffled
    assert first == again and first != other


async def test_reorder_refuses_a_fifo_queue_saying_it_keeps_group_order() -> None:
    class Ledger(tomodachi.Service):
        name = "fifo-ledger"
        message_envelope = JsonBase

        @tomodachi.aws_sns_sqs("entries", queue_name="entries.fifo", fifo=True)
        async def on_entry(self, data: Any) -> None:
            pass

    async with system(Ledger) as shop:
        with pytest.raises(ValueError, match="keeps the order within each message group"):
            shop.fake_sns_sqs.reorder("entries.fifo")


@pytest.mark.parametrize("bus", BUSES)
async def test_latency_delays_delivery_on_the_virtual_clock(bus: str) -> None:
    async with system(Recorder) as shop:
        fake = fake_of(shop, bus)
        fake.latency("work", 5)
        await fake.publish(destination(bus), {"late": True})
        await shop.settle()
        assert shop.service("recorder").instance.seen == []
        [waiting] = shop.pending()
        assert (waiting.queue, (waiting.due - shop.clock.now()).total_seconds()) == ("work", 5.0)
        await shop.clock.advance(5)
        await shop.settle()
        assert shop.service("recorder").instance.seen == [{"late": True}]


class SecondInstance(Deduplicating):
    name = "raw-recorder-2"


@pytest.mark.parametrize("bus", BUSES)
async def test_a_message_in_flight_is_delivered_again_while_its_handler_runs(bus: str) -> None:
    # two instances consume the queue: an SQS consumer only receives again once its own batch is settled
    async with system(Deduplicating, SecondInstance) as shop:
        fake = fake_of(shop, bus)
        first, second = shop.service("raw-recorder").instance, shop.service("raw-recorder-2").instance
        for instance in (first, second):
            instance.gate = asyncio.Event()
        await fake.publish(destination(bus), "slow", envelope=None)
        waiters = [asyncio.ensure_future(i.started.wait()) for i in (first, second)]
        await asyncio.wait(waiters, timeout=5, return_when=asyncio.FIRST_COMPLETED)
        assert fake.redeliver_in_flight("work") == 1
        await asyncio.wait_for(asyncio.gather(first.started.wait(), second.started.wait()), timeout=5)
        for instance in (first, second):
            assert instance.gate is not None
            instance.gate.set()
        await shop.settle()
        assert first.seen + second.seen == ["slow", "slow"]
        assert fake.messages("work") == []


async def test_a_closed_channel_requeues_with_the_redelivered_flag() -> None:
    class Watcher(tomodachi.Service):
        name = "watcher"

        def __init__(self) -> None:
            self.gate = asyncio.Event()
            self.started = asyncio.Event()
            self.calls = 0

        @tomodachi.amqp("work.item", queue_name="work")
        async def on_amqp(self, message: Any) -> None:
            self.calls += 1
            if self.calls == 1:
                self.started.set()
                await self.gate.wait()

    async with system(Watcher) as shop:
        watcher = shop.service("watcher").instance
        await shop.fake_amqp.publish("work.item", "x", envelope=None)
        await asyncio.wait_for(watcher.started.wait(), timeout=5)
        [first] = shop.fake_amqp.broker.unsettled
        assert first.redelivered is False
        assert shop.fake_amqp.close_channel("work") == 1
        [again] = shop.fake_amqp.broker.unsettled  # delivered again at once, flagged
        assert again is not first and again.redelivered is True and again.receive_count == 2
        watcher.gate.set()
        await shop.settle()
        assert watcher.calls == 2 and shop.fake_amqp.queue_depth("work") == 0


@pytest.mark.parametrize("bus", BUSES)
async def test_an_outage_fails_publishes_and_consumers_resume_afterwards(bus: str) -> None:
    async with system(Recorder) as shop:
        fake = fake_of(shop, bus)
        async with fake.outage():
            with pytest.raises((AmqpChannelClosed, AwsApiError), match="outage"):
                await fake.publish(destination(bus), {"lost": True})
        await fake.publish(destination(bus), {"after": True})
        await shop.run_until_idle(limit="1 minute")
        assert shop.service("recorder").instance.seen == [{"after": True}]


async def test_a_service_publish_during_an_outage_fails_after_its_retries() -> None:
    class Sender(tomodachi.Service):
        name = "sender"
        message_envelope = JsonBase

    async with system(Recorder, Sender) as shop:
        sender = shop.service("sender").instance
        async with shop.fake_amqp.outage():
            with pytest.raises(AmqpChannelClosed, match="outage"):
                await tomodachi.amqp_publish(sender, {"n": 1}, routing_key="work.item")
        assert shop.fake_amqp.published() == []


@pytest.mark.parametrize("bus", BUSES)
async def test_fault_methods_check_their_arguments_at_once(bus: str) -> None:
    async with system(Recorder) as shop:
        fake = fake_of(shop, bus)
        with pytest.raises(KeyError, match="declared queues"):
            fake.duplicate_next("nope")
        with pytest.raises(ValueError, match="copies"):
            fake.duplicate_next("work", copies=1)
        with pytest.raises(ValueError, match="times"):
            fake.fail_next_deliveries("work", times=0)
        with pytest.raises(TypeError, match="exc"):
            fake.fail_next_deliveries("work", exc=3)
        with pytest.raises(TypeError, match="seed"):
            fake.reorder("work", seed="7")
        with pytest.raises(ValueError, match="seconds"):
            fake.latency("work", -1)


async def test_amqp_messages_lists_the_message_being_handled_as_in_flight() -> None:
    async with system(Recorder) as shop:
        recorder = shop.service("recorder").instance
        recorder.gate = asyncio.Event()
        await shop.fake_amqp.publish("work.item", {"n": 1})
        await shop.fake_amqp.publish("work.item", {"n": 2})
        await asyncio.wait_for(recorder.started.wait(), timeout=5)
        listed = [(m.data, m.in_flight) for m in shop.fake_amqp.messages("work")]
        assert ({"n": 1}, True) in listed
        recorder.gate.set()
        await shop.settle()
        assert shop.fake_amqp.messages("work") == []


async def test_a_stopped_service_is_no_longer_listed_and_unknown_queues_are_key_errors() -> None:
    async with system(Recorder) as shop:
        recorder = shop.service("recorder")
        with pytest.raises(KeyError, match="declared queues"):
            shop.fake_amqp.queue_depth("nope")
        shop.fake_sns_sqs.latency("work", "2 seconds")  # spoken durations, like advance()
        await recorder.stop()
        assert shop.services == []


@pytest.mark.parametrize("bus", BUSES)
async def test_armed_faults_are_written_to_the_delivery_trace(bus: str) -> None:
    async with system(Deduplicating) as shop:
        fake = fake_of(shop, bus)
        fake.duplicate_next("work")
        fake.fail_next_deliveries("work")
        await fake.publish(destination(bus), "x", envelope=None)
        await shop.run_until_idle(limit="1 minute")
        trace = "\n".join(shop.trace())
        assert f"{bus} work: next message delivered 2 times (duplicate_next)" in trace
        assert f"{bus} work: delivery attempt fails with InjectedFailure" in trace
        assert "raw-recorder.on_" in trace


async def test_a_service_sns_publish_during_an_outage_fails_after_its_retries() -> None:
    class Sender(tomodachi.Service):
        name = "sns-sender"
        message_envelope = JsonBase

    async with system(Recorder, Sender) as shop:
        sender = shop.service("sns-sender").instance
        async with shop.fake_sns_sqs.outage():
            with pytest.raises(AWSSNSSQSException, match="injected outage"):  # the API's error, after its retries
                await tomodachi.sns_publish(sender, {"n": 1}, "work-item")
        await tomodachi.sns_publish(sender, {"n": 2}, "work-item")
        await shop.run_until_idle(limit="1 minute")
        assert shop.service("recorder").instance.seen == [{"n": 2}]
