"""Whether a task is blocked on the virtual clock: the future it awaits (through awaited tasks and ``gather``) is
one of the clock's sleeps. Such a task cannot progress until the test moves the clock."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any, Protocol

MAX_DEPTH = 32


class SleepAware(Protocol):
    def due_of(self, future: asyncio.Future[Any]) -> datetime | None: ...


def clock_wait(task: asyncio.Future[Any] | None, clock: object) -> datetime | None:
    """The virtual time at which ``task`` can go on, if it waits on ``clock`` only; ``None`` if it may progress
    without the clock (running, ready, or waiting on something else such as real I/O)."""
    if task is None or task.done() or not hasattr(clock, "due_of"):
        return None
    return _wait_of(task, clock, 0)


def _wait_of(future: asyncio.Future[Any], clock: SleepAware, depth: int) -> datetime | None:
    if depth > MAX_DEPTH:
        return None
    due = clock.due_of(future)
    if due is not None:
        return due
    if isinstance(future, asyncio.Task):
        waiter = getattr(future, "_fut_waiter", None)  # what the task's coroutine awaits right now
        return None if waiter is None else _wait_of(waiter, clock, depth + 1)
    children = getattr(future, "_children", None)  # asyncio.gather's future
    if children:
        dues = [_wait_of(child, clock, depth + 1) for child in children if not child.done()]
        if dues and all(due is not None for due in dues):
            return min(due for due in dues if due is not None)
    return None
