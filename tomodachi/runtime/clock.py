"""The Clock seam: every timing decision in the framework goes through a Clock."""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from contextvars import ContextVar
from datetime import datetime, timezone
from typing import Protocol


class TimerHandle(Protocol):
    def cancel(self) -> None: ...


class Clock(ABC):
    """Wall-clock reads, a monotonic clock, sleeping and timers.

    ``now()`` is always timezone-aware (UTC). ``time()`` is epoch seconds.
    """

    @abstractmethod
    def time(self) -> float:
        """Wall-clock time as epoch seconds."""

    @abstractmethod
    def monotonic(self) -> float:
        """A clock that never goes backwards; only differences are meaningful."""

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.time(), tz=timezone.utc)

    @abstractmethod
    async def sleep(self, seconds: float) -> None:
        """Suspend the caller for ``seconds`` of this clock's time."""

    async def sleep_until(self, when: datetime) -> None:
        if when.tzinfo is None:
            raise ValueError("sleep_until() needs a timezone-aware datetime")
        await self.sleep(max(0.0, when.timestamp() - self.time()))

    @abstractmethod
    def call_later(self, delay: float, callback: Callable[..., object], *args: object) -> TimerHandle:
        """Run ``callback(*args)`` once ``delay`` seconds of this clock have passed."""


class RealClock(Clock):
    """The production clock: the system's wall clock and the event loop's timers."""

    def time(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))

    def call_later(self, delay: float, callback: Callable[..., object], *args: object) -> TimerHandle:
        return asyncio.get_running_loop().call_later(max(0.0, delay), callback, *args)


# the clock of the service whose message handler or scheduled function runs here (set for the handler's run): what
# asyncio.sleep waits on while a test's VirtualClock is frozen
handler_clock: ContextVar[Clock | None] = ContextVar("tomodachi_handler_clock", default=None)
