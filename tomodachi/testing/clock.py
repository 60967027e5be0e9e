"""VirtualClock: a Clock for tests that only moves when told, running due timers in order.

Optionally freezes wall-clock reads (``datetime.now()``, ``time.time()``) at virtual time with freezegun.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from types import TracebackType
from typing import Any

from tomodachi.runtime.clock import Clock

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)
# upper bound of event-loop iterations settle() spends waiting for the loop to go idle
_SETTLE_ROUNDS = 1_000


def _to_microseconds(when: datetime) -> int:
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return (when - _EPOCH) // _MICROSECOND


class VirtualTimer:
    """A pending callback of a VirtualClock; ``cancel()`` removes it."""

    __slots__ = ("due", "callback", "args", "cancelled", "_clock")

    def __init__(self, clock: VirtualClock, due: int, callback: Callable[..., Any], args: tuple[Any, ...]) -> None:
        self._clock = clock
        self.due = due  # epoch microseconds
        self.callback = callback
        self.args = args
        self.cancelled = False

    def when(self) -> float:
        """Virtual epoch seconds at which the timer falls due."""
        return self.due / 1_000_000

    def cancel(self) -> None:
        if not self.cancelled:
            self.cancelled = True
            self._clock._pending -= 1


class VirtualClock(Clock):
    """Virtual time for tests: it stands still until ``advance()`` / ``advance_to()`` moves it.

    Time is kept as integer epoch microseconds, so fire times computed from datetimes are exact. Each timer that
    falls due during an advance runs at its own due time, and the event loop is allowed to settle (every ready
    callback runs) before the next timer, so work triggered by a timer — including new timers — happens in order.

    With ``freeze_wall_clock`` (default), ``freeze()`` / ``with clock:`` / ``async with clock:`` make
    ``datetime.now()`` and ``time.time()`` in user code read virtual time (freezegun, with the event loop's own
    clock left real so ``asyncio.sleep`` and network timeouts keep working).
    """

    def __init__(self, start: datetime | None = None, *, freeze_wall_clock: bool = True) -> None:
        if start is None:
            start = datetime.now(timezone.utc).replace(microsecond=0)
        self._now = _to_microseconds(start)
        self._origin = self._now
        self._heap: list[tuple[int, int, VirtualTimer]] = []
        self._sequence = itertools.count()
        self._pending = 0
        self._advancing = False
        self.freeze_wall_clock = freeze_wall_clock
        self._freezer: Any = None
        self._frozen_factory: Any = None

    # -- Clock interface -------------------------------------------------------------------------------------

    def time(self) -> float:
        return self._now / 1_000_000

    def monotonic(self) -> float:
        return (self._now - self._origin) / 1_000_000

    def now(self) -> datetime:
        return _EPOCH + timedelta(microseconds=self._now)

    async def sleep(self, seconds: float) -> None:
        await self._wait_until(self._now + max(0, round(seconds * 1_000_000)))

    async def sleep_until(self, when: datetime) -> None:
        if when.tzinfo is None:
            raise ValueError("sleep_until() needs a timezone-aware datetime")
        await self._wait_until(max(self._now, _to_microseconds(when)))

    def call_later(self, delay: float, callback: Callable[..., Any], *args: Any) -> VirtualTimer:
        return self._schedule(self._now + max(0, round(delay * 1_000_000)), callback, args)

    def call_at(self, when: datetime, callback: Callable[..., Any], *args: Any) -> VirtualTimer:
        """Run ``callback(*args)`` once virtual time reaches ``when``."""
        return self._schedule(max(self._now, _to_microseconds(when)), callback, args)

    # -- moving time -----------------------------------------------------------------------------------------

    async def advance(self, seconds: float | timedelta) -> None:
        """Move virtual time forward, running every timer that falls due on the way, in time order."""
        delta = seconds if isinstance(seconds, timedelta) else timedelta(seconds=seconds)
        if delta < timedelta(0):
            raise ValueError(f"cannot advance a VirtualClock backwards (by {delta})")
        await self._advance_to(self._now + delta // _MICROSECOND)

    async def advance_to(self, when: datetime) -> None:
        """Move virtual time forward to ``when`` (naive means UTC), running every timer due until then."""
        target = _to_microseconds(when)
        if target < self._now:
            raise ValueError(f"cannot move a VirtualClock backwards (from {self.now()} to {when})")
        await self._advance_to(target)

    async def run_until_idle(self, limit: float | timedelta = timedelta(days=366)) -> None:
        """Advance to each next timer until none is pending (at most ``limit`` into the future)."""
        horizon = self._now + (limit if isinstance(limit, timedelta) else timedelta(seconds=limit)) // _MICROSECOND
        await self.settle()
        while (due := self.next_due()) is not None and due <= horizon:
            await self._advance_to(due)

    async def settle(self) -> None:
        """Let the event loop run every ready callback until it is idle (bounded), without moving time."""
        loop = asyncio.get_running_loop()
        ready = getattr(loop, "_ready", None)  # asyncio's queue of ready callbacks; absent on uvloop
        for _ in range(_SETTLE_ROUNDS if ready is not None else 50):
            await asyncio.sleep(0)
            if ready is not None and not ready:
                return

    def next_due(self) -> int | None:
        """Epoch microseconds of the earliest pending timer, if any."""
        heap = self._heap
        while heap and heap[0][2].cancelled:
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    @property
    def pending_timers(self) -> int:
        return self._pending

    # -- wall-clock freezing ---------------------------------------------------------------------------------

    def freeze(self) -> VirtualClock:
        """Make wall-clock reads (``datetime.now()``, ``time.time()``…) return virtual time until ``unfreeze()``."""
        if self._freezer is None:
            from freezegun import freeze_time  # a test dependency: imported only when freezing

            self._freezer = freeze_time(self._naive_utc(), real_asyncio=True, ignore=["_pytest."])
            self._frozen_factory = self._freezer.start()
        return self

    def unfreeze(self) -> None:
        if self._freezer is not None:
            freezer, self._freezer, self._frozen_factory = self._freezer, None, None
            freezer.stop()

    @property
    def frozen(self) -> bool:
        return self._freezer is not None

    def __enter__(self) -> VirtualClock:
        if self.freeze_wall_clock:
            self.freeze()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.unfreeze()

    async def __aenter__(self) -> VirtualClock:
        return self.__enter__()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.__exit__(exc_type, exc, tb)

    # -- internals -------------------------------------------------------------------------------------------

    def _naive_utc(self) -> datetime:
        return datetime(1970, 1, 1) + timedelta(microseconds=self._now)

    def _set_now(self, value: int) -> None:
        if value > self._now:
            self._now = value
            if self._frozen_factory is not None:
                # assigning the frozen instant directly is the cheap path (move_to re-parses and re-derives it)
                self._frozen_factory.time_to_freeze = self._naive_utc()

    def _schedule(self, due: int, callback: Callable[..., Any], args: tuple[Any, ...]) -> VirtualTimer:
        timer = VirtualTimer(self, due, callback, args)
        heapq.heappush(self._heap, (due, next(self._sequence), timer))
        self._pending += 1
        return timer

    async def _wait_until(self, due: int) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        timer = self._schedule(due, _resolve, (future,))
        try:
            await future
        finally:
            timer.cancel()

    async def _advance_to(self, target: int) -> None:
        if self._advancing:
            raise RuntimeError("VirtualClock is already advancing (advance() called from a timer or handler?)")
        self._advancing = True
        try:
            await self.settle()  # work started just before the advance registers its timers first
            heap = self._heap
            while heap and heap[0][0] <= target:
                _, _, timer = heapq.heappop(heap)
                if timer.cancelled:
                    continue
                timer.cancel()  # fired timers are no longer pending
                self._set_now(timer.due)
                timer.callback(*timer.args)
                await self.settle()
            self._set_now(target)
            await self.settle()
        finally:
            self._advancing = False


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
