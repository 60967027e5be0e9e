"""``drain()`` of the in-memory brokers: wait, in zero virtual time, until nothing is left to deliver or settle."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

# idle on this many consecutive zero-time yields: just-spawned handler and publish tasks get to run first
STABLE_ROUNDS = 5


async def wait_idle(
    is_idle: Callable[[], bool], changed: asyncio.Event, timeout: float, busy: Callable[[], str]
) -> None:
    """Return once ``is_idle()`` holds steadily; between checks wait for ``changed`` (set on every broker state
    change). ``timeout`` (real seconds) guards against a handler that never finishes: ``TimeoutError(busy())``."""
    try:
        await asyncio.wait_for(_settle(is_idle, changed), timeout)
    except asyncio.TimeoutError:
        raise TimeoutError(busy()) from None


async def _settle(is_idle: Callable[[], bool], changed: asyncio.Event) -> None:
    stable = 0
    while True:
        await asyncio.sleep(0)
        if is_idle():
            stable += 1
            if stable >= STABLE_ROUNDS:
                return
            continue
        stable = 0
        changed.clear()
        await changed.wait()
