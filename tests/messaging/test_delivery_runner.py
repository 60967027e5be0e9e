"""A service's deliveries run without a task per message: each handler still runs in one task from start to end,
in a context of its own, after publish() returned, and is tracked, cancelled and handed back by stop() as before."""

from __future__ import annotations

import asyncio
import contextvars
import sys
from typing import Any

import pytest
from amqp_rig import PlainService, Rig

from tomodachi.envelope import JsonBase
from tomodachi.messaging.amqp.api import amqp

VISITED: contextvars.ContextVar[int | None] = contextvars.ContextVar("visited", default=None)


class Waiter(PlainService):
    """Its handler waits for ``release`` on message 1 and returns at once on every other."""

    name = "waiter"
    message_envelope = JsonBase

    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()
        self.waiting = asyncio.Event()
        self.cancelled = asyncio.Event()
        self.tasks: list[asyncio.Task[Any] | None] = []
        self.done: list[int] = []

    @amqp("runner.wait")
    async def handler(self, data: Any) -> None:
        if data["n"] == 1:
            self.tasks.append(asyncio.current_task())
            self.waiting.set()
            try:
                await self.release.wait()
            except asyncio.CancelledError:
                self.cancelled.set()
                raise
            self.tasks.append(asyncio.current_task())
        self.done.append(data["n"])


def _queue(rig: Rig) -> str:
    [queue] = [name for name in rig.broker.queue_names() if not name.endswith(".dlq")]
    return queue


async def test_a_handler_that_waits_runs_in_one_task_and_is_in_flight_until_it_ends(rig: Rig) -> None:
    service = Waiter()
    transport = await rig.start(service)
    await rig.publish("runner.wait", {"n": 1}, envelope=JsonBase)
    await asyncio.wait_for(service.waiting.wait(), 5)
    [delivery] = transport.in_flight()
    assert delivery.outcome is None and delivery.handler_task is service.tasks[0]

    service.release.set()
    await rig.fake.settle()
    assert service.done == [1] and transport.in_flight() == []
    # the same task before and after the wait, and not the publisher's
    assert service.tasks[0] is not None and service.tasks[0] is service.tasks[1]
    assert service.tasks[0] is not asyncio.current_task()


async def test_deliveries_behind_a_waiting_handler_are_not_held_up(rig: Rig) -> None:
    service = Waiter()
    await rig.start(service)
    for n in (1, 2, 3):
        await rig.publish("runner.wait", {"n": n}, envelope=JsonBase)
    await asyncio.wait_for(service.waiting.wait(), 5)
    await rig.clock.settle()  # every ready callback runs, time stands still
    assert service.done == [2, 3]
    service.release.set()
    await rig.fake.settle()
    assert service.done == [2, 3, 1]


async def test_stop_cancels_a_handler_past_the_grace_period_and_hands_its_message_back(rig: Rig) -> None:
    service = Waiter()
    transport = await rig.start(service)
    await rig.publish("runner.wait", {"n": 1}, envelope=JsonBase)
    await asyncio.wait_for(service.waiting.wait(), 5)

    stopping = asyncio.ensure_future(transport.stop(10))
    await rig.clock.advance(10)
    await asyncio.wait_for(stopping, 5)
    assert service.cancelled.is_set() and service.done == []
    assert (rig.broker.queue_depth(_queue(rig)), rig.broker.unacked_count(_queue(rig))) == (1, 0)
    assert transport.in_flight() == []


async def test_a_delivery_not_started_when_the_grace_period_ends_is_handed_back_and_never_run(rig: Rig) -> None:
    service = Waiter()
    transport = await rig.start(service)
    await rig.publish("runner.wait", {"n": 2}, envelope=JsonBase)  # not handled yet: publish() never runs handlers
    await transport.stop(0)
    await rig.clock.settle()  # every ready callback runs, time stands still
    assert service.done == [] and transport.in_flight() == []
    assert (rig.broker.queue_depth(_queue(rig)), rig.broker.unacked_count(_queue(rig))) == (1, 0)


async def test_a_handler_runs_after_publish_returned(rig: Rig) -> None:
    service = Waiter()
    await rig.start(service)
    await rig.publish("runner.wait", {"n": 2}, envelope=JsonBase)
    assert service.done == []
    await rig.fake.settle()
    assert service.done == [2]


class Marker(PlainService):
    """Records what the context variable held when its handler started, then sets it."""

    name = "marker"
    message_envelope = JsonBase

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[int | None] = []

    @amqp("runner.mark")
    async def handler(self, data: Any) -> None:
        self.seen.append(VISITED.get())
        VISITED.set(data["n"])
        if data["n"] % 2:
            await asyncio.sleep(0)  # a handler that waits keeps its context too
            assert VISITED.get() == data["n"]


async def test_context_variables_a_handler_sets_stay_its_own(rig: Rig) -> None:
    service = Marker()
    await rig.start(service)
    for n in range(6):
        await rig.publish("runner.mark", {"n": n}, envelope=JsonBase)
    await rig.fake.settle()
    assert service.seen == [None] * 6  # no delivery saw another's value
    assert VISITED.get() is None  # nor did the publisher


class Depth(PlainService):
    """Records how deep in the stack each call of its handler ran."""

    name = "depth"
    message_envelope = JsonBase

    def __init__(self) -> None:
        super().__init__()
        self.depths: list[int] = []

    @amqp("runner.depth")
    async def handler(self, data: Any) -> None:
        frame, depth = sys._getframe(), 0
        while frame is not None:
            frame, depth = frame.f_back, depth + 1  # type: ignore[assignment]
        self.depths.append(depth)


async def test_a_long_queue_is_handled_without_nesting_deliveries(rig: Rig) -> None:
    service = Depth()
    await rig.start(service)
    for n in range(500):  # more than the prefetch: each ack hands out the next message
        await rig.publish("runner.depth", {"n": n}, envelope=JsonBase)
    await rig.fake.settle()
    assert len(service.depths) == 500
    assert max(service.depths) - min(service.depths) == 0


class SelfCancelling(PlainService):
    name = "self-cancelling"
    message_envelope = JsonBase

    def __init__(self) -> None:
        super().__init__()
        self.done: list[int] = []
        self.last = asyncio.Event()

    @amqp("runner.cancel")
    async def handler(self, data: Any) -> None:
        if data["n"] == 1:
            raise asyncio.CancelledError
        self.done.append(data["n"])
        if data["n"] == 3:
            self.last.set()


async def test_a_handler_raising_cancelled_error_does_not_stop_the_deliveries_after_it(rig: Rig) -> None:
    service = SelfCancelling()
    transport = await rig.start(service)
    for n in (1, 2, 3):
        await rig.publish("runner.cancel", {"n": n}, envelope=JsonBase)
    await asyncio.wait_for(service.last.wait(), 5)
    assert service.done == [2, 3]
    assert transport.in_flight() == []  # the cancelled one left the table too (its message stays unacked)


class CancelsItsTask(PlainService):
    """Message 1's handler cancels the task it runs in and returns; message 2's waits once."""

    name = "cancels-its-task"
    message_envelope = JsonBase

    def __init__(self) -> None:
        super().__init__()
        self.done: list[int] = []
        self.interrupted: list[int] = []

    @amqp("runner.own-task")
    async def handler(self, data: Any) -> None:
        if data["n"] == 1:
            task = asyncio.current_task()
            assert task is not None
            task.cancel()
        elif data["n"] == 2:
            try:
                await asyncio.sleep(0)
            except asyncio.CancelledError:
                self.interrupted.append(data["n"])
                raise
        self.done.append(data["n"])


@pytest.mark.skipif(sys.version_info < (3, 11), reason="a task's cancel requests are counted from Python 3.11")
async def test_a_handler_cancelling_its_own_task_touches_no_other_delivery(rig: Rig) -> None:
    service = CancelsItsTask()
    transport = await rig.start(service)
    for n in (1, 2, 3, 4):
        await rig.publish("runner.own-task", {"n": n}, envelope=JsonBase)
    await rig.fake.settle()
    assert sorted(service.done) == [1, 2, 3, 4] and service.interrupted == []
    assert transport.in_flight() == [] and rig.broker.unacked_count() == 0


class TimesOut(PlainService):
    """Message 1 waits under ``asyncio.timeout`` for what never comes; the others return at once."""

    name = "times-out"
    message_envelope = JsonBase

    def __init__(self) -> None:
        super().__init__()
        self.done: list[int] = []
        self.timed_out = asyncio.Event()

    @amqp("runner.timeout")
    async def handler(self, data: Any) -> None:
        if data["n"] == 1:
            try:
                async with asyncio.timeout(0.01):
                    await asyncio.Event().wait()
            except TimeoutError:
                self.timed_out.set()
                raise
        self.done.append(data["n"])


@pytest.mark.skipif(sys.version_info < (3, 11), reason="asyncio.timeout is Python 3.11+")
async def test_a_handler_timing_out_under_asyncio_timeout_fails_alone_and_is_retried(rig: Rig) -> None:
    service = TimesOut()
    await rig.start(service)
    for n in (1, 2, 3):
        await rig.publish("runner.timeout", {"n": n}, envelope=JsonBase)

    await asyncio.wait_for(service.timed_out.wait(), 5)
    await rig.fake.settle()

    assert service.done == [2, 3]  # the deliveries it shared a drain task with ran, untouched by its timeout
    assert [type(exc) for exc, _ in rig.errors] == [TimeoutError]
    assert rig.broker.delayed_count == 1  # message 1 waits for its retry on the clock: not lost
