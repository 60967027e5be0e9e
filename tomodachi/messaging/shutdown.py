"""Bounded waits for the message transports' shutdown: in-flight handlers, cut-off handlers, hand-backs."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any, TypeVar

from tomodachi.runtime.clock import Clock

TaskT = TypeVar("TaskT", bound="asyncio.Future[Any]")

# how long a cut-off handler gets to end after its cancel; one that swallows CancelledError must not hang stop
CANCEL_TIMEOUT = 5.0


async def wait_tasks(tasks: Iterable[TaskT], clock: Clock, timeout: float) -> set[TaskT]:
    """Wait up to ``timeout`` seconds of ``clock`` for ``tasks`` to end; return those still running."""
    pending = {task for task in tasks if not task.done()}
    if not pending or timeout <= 0:
        return pending
    timer = asyncio.ensure_future(clock.sleep(timeout))
    try:
        while pending and not timer.done():
            waiters: list[asyncio.Future[Any]] = [*pending, timer]
            done, _ = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            pending.difference_update(done)
    finally:
        timer.cancel()
    return pending


async def cancel_tasks(tasks: Iterable[TaskT], clock: Clock, timeout: float = CANCEL_TIMEOUT) -> set[TaskT]:
    """Cancel ``tasks`` and wait (bounded) for them to end; return those that ignored the cancel."""
    pending = {task for task in tasks if not task.done()}
    for task in pending:
        task.cancel()
    return await wait_tasks(pending, clock, timeout)
