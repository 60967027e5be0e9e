"""VirtualClock: time moves only when told, timers run in order, wall-clock reads can be frozen."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta, timezone

import pytest

from tomodachi.runtime.clock import Clock
from tomodachi.testing.clock import DEFAULT_START, VirtualClock

START = datetime(2024, 1, 1, tzinfo=timezone.utc)


def test_is_a_clock_and_reads_start_time() -> None:
    clock = VirtualClock(START)
    assert isinstance(clock, Clock)
    assert clock.now() == START
    assert clock.time() == START.timestamp()
    assert clock.monotonic() == 0.0


def test_naive_start_means_utc() -> None:
    assert VirtualClock(datetime(2024, 5, 1, 12)).now() == datetime(2024, 5, 1, 12, tzinfo=timezone.utc)


def test_default_start_is_the_fixed_default_start() -> None:
    assert VirtualClock().now() == DEFAULT_START == START


async def test_time_stands_still_until_advanced() -> None:
    clock = VirtualClock(START)
    await asyncio.sleep(0.01)
    assert clock.now() == START
    await clock.advance(90)
    assert clock.now() == START + timedelta(seconds=90)
    assert clock.monotonic() == 90.0
    await clock.advance(timedelta(minutes=1))
    assert clock.now() == START + timedelta(seconds=150)


async def test_sleepers_wake_in_time_order_at_their_due_time() -> None:
    clock = VirtualClock(START)
    woke: list[tuple[str, datetime]] = []

    async def sleeper(name: str, seconds: float) -> None:
        await clock.sleep(seconds)
        woke.append((name, clock.now()))

    tasks = [asyncio.create_task(sleeper(name, seconds)) for name, seconds in (("c", 3), ("a", 1), ("b", 2))]
    await clock.advance(2.5)
    assert woke == [("a", START + timedelta(seconds=1)), ("b", START + timedelta(seconds=2))]
    await clock.advance(10)
    assert [name for name, _ in woke] == ["a", "b", "c"]
    assert woke[2][1] == START + timedelta(seconds=3)
    assert all(task.done() for task in tasks)


async def test_timers_created_during_advance_that_fall_due_also_run() -> None:
    clock = VirtualClock(START)
    ticks: list[datetime] = []

    async def ticker() -> None:
        while True:
            await clock.sleep(10)
            ticks.append(clock.now())

    task = asyncio.create_task(ticker())
    await clock.advance(35)
    assert ticks == [START + timedelta(seconds=s) for s in (10, 20, 30)]
    task.cancel()


async def test_sleep_until_is_exact() -> None:
    clock = VirtualClock(START)
    target = START + timedelta(seconds=1, microseconds=7)
    seen: list[datetime] = []

    async def waiter() -> None:
        await clock.sleep_until(target)
        seen.append(clock.now())

    asyncio.create_task(waiter())
    await clock.advance_to(target + timedelta(hours=1))
    assert seen == [target]
    with pytest.raises(ValueError):
        await clock.sleep_until(datetime(2024, 1, 1))


async def test_call_later_runs_and_can_be_cancelled() -> None:
    clock = VirtualClock(START)
    calls: list[tuple[str, datetime]] = []
    clock.call_later(5, lambda name: calls.append((name, clock.now())), "kept")
    handle = clock.call_later(3, lambda: calls.append(("cancelled", clock.now())))
    assert clock.pending_timers == 2
    handle.cancel()
    assert clock.pending_timers == 1
    await clock.advance(10)
    assert calls == [("kept", START + timedelta(seconds=5))]
    assert clock.pending_timers == 0


async def test_cancelled_sleeper_leaves_no_timer() -> None:
    clock = VirtualClock(START)
    task = asyncio.create_task(clock.sleep(100))
    await clock.settle()
    assert clock.pending_timers == 1
    task.cancel()
    await clock.settle()
    assert clock.pending_timers == 0


async def test_backwards_moves_raise() -> None:
    clock = VirtualClock(START)
    with pytest.raises(ValueError):
        await clock.advance(-1)
    with pytest.raises(ValueError):
        await clock.advance_to(START - timedelta(seconds=1))
    assert clock.now() == START


async def test_settle_runs_chained_ready_work() -> None:
    clock = VirtualClock(START)
    done = asyncio.Event()

    async def chain(depth: int) -> None:
        if depth == 0:
            done.set()
            return
        await asyncio.sleep(0)
        await asyncio.create_task(chain(depth - 1))

    asyncio.create_task(chain(20))
    await clock.settle()
    assert done.is_set()


async def test_work_triggered_by_a_timer_finishes_before_the_next_timer() -> None:
    clock = VirtualClock(START)
    log: list[str] = []

    async def handler() -> None:
        log.append("handler start")
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        log.append("handler end")

    clock.call_later(1, lambda: asyncio.ensure_future(handler()))
    clock.call_later(2, lambda: log.append("second timer"))
    await clock.advance(5)
    assert log == ["handler start", "handler end", "second timer"]


async def test_run_until_idle_fires_every_pending_timer() -> None:
    clock = VirtualClock(START)
    fired: list[datetime] = []
    clock.call_later(3600, lambda: fired.append(clock.now()))
    clock.call_later(60, lambda: fired.append(clock.now()))
    await clock.run_until_idle()
    assert fired == [START + timedelta(minutes=1), START + timedelta(hours=1)]
    assert clock.now() == START + timedelta(hours=1)


async def test_frozen_wall_clock_reads_virtual_time_while_event_loop_runs_real() -> None:
    clock = VirtualClock(START)
    with clock:
        assert clock.frozen
        assert datetime.now(timezone.utc) == START
        assert time.time() == START.timestamp()
        await clock.advance(61.5)
        assert datetime.now(timezone.utc) == START + timedelta(seconds=61.5)
        assert datetime.now() == datetime(2024, 1, 1, 0, 1, 1, 500000)
        # the event loop's own clock is real: asyncio.sleep and timeouts still work
        await asyncio.wait_for(asyncio.sleep(0.001), timeout=1)
    assert not clock.frozen
    assert datetime.now(timezone.utc).year >= 2025


async def test_freeze_can_be_disabled_and_used_explicitly() -> None:
    clock = VirtualClock(START, freeze_wall_clock=False)
    with clock:
        assert not clock.frozen
    clock.freeze()
    try:
        assert datetime.now(timezone.utc) == START
    finally:
        clock.unfreeze()
    async with VirtualClock(START) as frozen:
        assert frozen.frozen and datetime.now(timezone.utc) == START
