"""The memory brokers' drain helper: steady idleness, waking on changes, a clear error on timeout."""

from __future__ import annotations

import asyncio

import pytest

from tomodachi.messaging.idle import wait_idle


async def test_returns_once_idle_and_wakes_on_changes() -> None:
    changed = asyncio.Event()
    work = [1, 2]

    async def worker() -> None:
        while work:
            await asyncio.sleep(0)
            work.pop()
            changed.set()

    task = asyncio.ensure_future(worker())
    await wait_idle(lambda: not work, changed, 5, lambda: "busy")
    assert work == [] and task.done()


async def test_times_out_with_the_busy_description() -> None:
    with pytest.raises(TimeoutError, match="still 1 message"):
        await wait_idle(lambda: False, asyncio.Event(), 0.05, lambda: "still 1 message")
