"""VirtualClock: a Clock for tests that only moves when told, running due timers in order.

A VirtualClock starts at a fixed instant, ``DEFAULT_START`` (2024-01-01 00:00 UTC, a Monday) unless given another,
so a test reads the same dates on every run. While frozen (``freeze()``, ``with clock:``, the pytest fixture), the
wall clock of user code follows virtual time: ``datetime.now()``, ``datetime.utcnow()``, ``date.today()``,
``time.time()``, ``time.gmtime()``, ``time.localtime()`` and ``time.strftime()``. Duration clocks stay real:
``time.monotonic()`` and ``time.perf_counter()`` (and their ``_ns`` variants) and the event loop's own clock keep
running, so a test can measure itself and library timeouts still fire.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
import re
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from types import TracebackType
from typing import Any, TypeAlias

from tomodachi.runtime.clock import Clock
from tomodachi.testing import virtual_sleep
from tomodachi.testing.freeze_scope import (
    fake_wall_clock_references,
    make_local_zone_utc,
    restore_local_zone,
    restore_wall_clock_references,
)
from tomodachi.transport.schedule.parse import UNIT_SECONDS

DEFAULT_START = datetime(2024, 1, 1, tzinfo=timezone.utc)
"""Where every VirtualClock starts unless told otherwise: 2024-01-01 00:00 UTC, a Monday."""

Instant: TypeAlias = datetime | str
"""A datetime (naive means UTC) or an ISO-8601 string such as ``"2025-06-01T12:00:00Z"``."""

Duration: TypeAlias = timedelta | int | float | str
"""A timedelta, seconds, or a spoken interval such as ``"90 seconds"``, ``"1.5 minutes"``, ``"every 5 minutes"``."""

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)
# upper bound of event-loop iterations settle() spends waiting for the loop to go idle
_SETTLE_ROUNDS = 1_000

# the schedule's units, plus milliseconds (a test may advance by less than a second)
_UNIT_SECONDS: dict[str, float] = {
    **UNIT_SECONDS,
    **dict.fromkeys(("ms", "msec", "msecs", "millisecond", "milliseconds"), 0.001),
}
# the sign is read too, so "-5 minutes" is reported as a backwards move rather than as an unreadable string
_SPOKEN_DURATION = re.compile(r"(?:every\s+)?([+-]?\d+(?:\.\d+)?|[+-]?\.\d+)\s*([a-z]+)")
_DURATION_FORMS = (
    "a timedelta, seconds (int or float) or a string such as '90 seconds', '1.5 minutes', '1 hour', '2 days', "
    "'1 week' or 'every 5 minutes'"
)
_INSTANT_FORMS = "a datetime (naive means UTC) or an ISO-8601 string such as '2025-06-01T12:00:00Z'"

# freezegun freezes these too; they measure durations, so they are handed back their real implementations
_DURATION_CLOCKS = ("monotonic", "perf_counter", "monotonic_ns", "perf_counter_ns")


def parse_instant(value: Instant) -> datetime:
    """The timezone-aware instant ``value`` names (naive datetimes and ISO strings without an offset are UTC)."""
    if isinstance(value, str):
        text = value.strip()
        # Python 3.10's fromisoformat does not read the "Z" suffix
        if text[-1:] in ("Z", "z"):
            text = text[:-1] + "+00:00"
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"cannot read {value!r} as an instant: expected {_INSTANT_FORMS}") from None
    elif not isinstance(value, datetime):
        raise TypeError(f"expected {_INSTANT_FORMS}, not {type(value).__name__} {value!r}")
    return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)


def parse_duration(value: Duration) -> timedelta:
    """The timedelta ``value`` names; the sign is kept (callers decide whether a negative amount is allowed)."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, str):
        return _parse_spoken_duration(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"expected {_DURATION_FORMS}, not {type(value).__name__} {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"cannot advance a VirtualClock by {value!r}: expected {_DURATION_FORMS}")
    return timedelta(seconds=value)


def _parse_spoken_duration(text: str) -> timedelta:
    match = _SPOKEN_DURATION.fullmatch(" ".join(text.strip().lower().split()))
    if match is None or match.group(2) not in _UNIT_SECONDS:
        raise ValueError(f"cannot read {text!r} as a duration: expected {_DURATION_FORMS}")
    return timedelta(seconds=float(match.group(1)) * _UNIT_SECONDS[match.group(2)])


def readable_duration(delta: timedelta) -> str:
    """``delta`` as people write it: ``-1 s``, ``90 s``, ``36 h``, ``1 day`` (for messages)."""
    seconds = delta.total_seconds()
    for unit, size in (("day", 86400), ("h", 3600), ("min", 60)):
        if abs(seconds) >= size and seconds % size == 0:
            return f"{seconds / size:g} {unit}"
    return f"{seconds:g} s"


def _to_microseconds(when: datetime) -> int:
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return (when - _EPOCH) // _MICROSECOND


def _from_microseconds(value: int) -> datetime:
    return _EPOCH + timedelta(microseconds=value)


def _restore_real_duration_clocks(freezer: Any) -> list[tuple[object, str, Any]]:
    """Put the real monotonic / perf_counter clocks back wherever ``freezer.start()`` faked them.

    Returns what was replaced, as ``(owner, attribute, fake)``, so the fakes can be put back before
    ``freezer.stop()``: stop() then undoes exactly what start() did, also when this freeze is nested in another.
    """
    from freezegun import api

    reals = {name: getattr(api, f"real_{name}") for name in _DURATION_CLOCKS if hasattr(api, f"real_{name}")}
    real_ids = {id(real) for real in reals.values()}
    targets: list[tuple[object, str, Any]] = [(time, name, real) for name, real in reals.items()]
    # modules that did "from time import monotonic" before the freeze got their own fake copies
    targets += [(owner, name, real) for owner, name, real in freezer.undo_changes if id(real) in real_ids]
    replaced: list[tuple[object, str, Any]] = []
    for owner, name, real in targets:
        current = getattr(owner, name, real)
        if current is not real:
            replaced.append((owner, name, current))
            setattr(owner, name, real)
    return replaced


class VirtualTimer:
    """A pending callback of a VirtualClock; ``cancel()`` removes it."""

    __slots__ = ("due", "callback", "args", "cancelled", "_clock")

    def __init__(
        self, clock: VirtualClock, due: int, callback: Callable[..., object], args: tuple[object, ...]
    ) -> None:
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

    It starts at ``start`` — a datetime (naive means UTC) or an ISO-8601 string — or at ``DEFAULT_START``,
    2024-01-01 00:00 UTC (a Monday), so every run of a test sees the same dates.

    Time is kept as integer epoch microseconds, so fire times computed from datetimes are exact. Each timer that
    falls due during an advance runs at its own due time, and the event loop is allowed to settle (every ready
    callback runs) before the next timer, so work triggered by a timer — including new timers — happens in order.

    With ``freeze_wall_clock`` (default), ``freeze()`` / ``with clock:`` / ``async with clock:`` make the wall
    clock of user code read virtual time (freezegun): ``datetime.now()``, ``datetime.utcnow()``, ``date.today()``,
    ``time.time()``, ``time.gmtime()``, ``time.localtime()``, ``time.strftime()``. What measures durations stays
    real — ``time.monotonic()``, ``time.perf_counter()`` (and ``_ns``) and the event loop's clock — so network
    timeouts and a test timing itself keep working; ``asyncio.sleep`` stays real except in message handlers and
    scheduled functions, where it waits on the clock of their service.
    """

    def __init__(self, start: Instant | None = None, *, freeze_wall_clock: bool = True) -> None:
        self._now = _to_microseconds(parse_instant(DEFAULT_START if start is None else start))
        self._now_datetime: tuple[int, datetime] | None = None
        self._origin = self._now
        self._heap: list[tuple[int, int, VirtualTimer]] = []
        self._sequence = itertools.count()
        self._pending = 0
        self._advancing = False
        # the futures sleep() / sleep_until() are awaiting, with the epoch microseconds they resolve at
        self._sleeping: dict[asyncio.Future[Any], int] = {}
        self.freeze_wall_clock = freeze_wall_clock
        self._freezer: Any = None
        self._frozen_factory: Any = None
        # freezegun's fakes this freeze replaced (duration clocks made real again, a faster time.time), as
        # (owner, attribute, fake): put back before freezegun's stop(), which then undoes exactly what it did
        self._replaced_fakes: list[tuple[object, str, Any]] = []
        self._patches_modules = False  # this freeze put the fakes into the modules (it is not nested in another)
        self._replaced_zone: str | None = None  # TZ before the freeze made the local zone UTC

    # -- Clock interface -------------------------------------------------------------------------------------

    def time(self) -> float:
        return self._now / 1_000_000

    def monotonic(self) -> float:
        return (self._now - self._origin) / 1_000_000

    def now(self) -> datetime:
        # read for every handler call record: the datetime of the current instant is kept until time moves
        cached = self._now_datetime
        if cached is None or cached[0] != self._now:
            cached = self._now_datetime = (self._now, _from_microseconds(self._now))
        return cached[1]

    async def sleep(self, seconds: float) -> None:
        await self._wait_until(self._now + max(0, round(seconds * 1_000_000)))

    async def sleep_until(self, when: datetime) -> None:
        if when.tzinfo is None:
            raise ValueError("sleep_until() needs a timezone-aware datetime")
        await self._wait_until(max(self._now, _to_microseconds(when)))

    def call_later(self, delay: float, callback: Callable[..., object], *args: object) -> VirtualTimer:
        return self._schedule(self._now + max(0, round(delay * 1_000_000)), callback, args)

    def call_at(self, when: datetime, callback: Callable[..., object], *args: object) -> VirtualTimer:
        """Run ``callback(*args)`` once virtual time reaches ``when``."""
        return self._schedule(max(self._now, _to_microseconds(when)), callback, args)

    # -- moving time -----------------------------------------------------------------------------------------

    async def advance(self, amount: Duration) -> None:
        """Move virtual time forward, running every timer that falls due on the way, in time order.

        ``amount`` is a timedelta, seconds, or a spoken interval (``"90 seconds"``, ``"1 hour"``, ``"2 days"``,
        ``"1.5 minutes"``, ``"1 week"``, ``"every 5 minutes"``).
        """
        await self._advance_to(self._now + self._forward(amount, "advance"))

    async def advance_to(self, when: Instant) -> None:
        """Move virtual time forward to ``when`` (a datetime, naive means UTC, or an ISO-8601 string), running
        every timer due until then."""
        target = _to_microseconds(parse_instant(when))
        if target < self._now:
            raise ValueError(
                f"a VirtualClock cannot go backwards: advance_to({_from_microseconds(target).isoformat()}) is before "
                f"the current virtual time {self.now().isoformat()}"
            )
        await self._advance_to(target)

    async def run_until_idle(self, limit: Duration = timedelta(days=366)) -> None:
        """Advance to each next timer until none is pending (at most ``limit`` into the future; the same forms
        as ``advance()``)."""
        horizon = self._now + self._forward(limit, "run_until_idle")
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

    def pending_until(self) -> datetime | None:
        """When the earliest pending timer falls due (timezone-aware), ``None`` if no timer is pending."""
        due = self.next_due()
        return None if due is None else _from_microseconds(due)

    def due_of(self, future: asyncio.Future[Any]) -> datetime | None:
        """The virtual time at which ``future`` resolves, if it is a future a ``sleep()`` / ``sleep_until()`` of
        this clock is still waiting on; ``None`` for any other future (or one already done)."""
        due = self._sleeping.get(future)
        return None if due is None or future.done() else _from_microseconds(due)

    @property
    def pending_timers(self) -> int:
        return self._pending

    # -- wall-clock freezing ---------------------------------------------------------------------------------

    def freeze(self) -> VirtualClock:
        """Make wall-clock reads (``datetime.now()``, ``time.time()``…) return virtual time until ``unfreeze()``,
        with UTC as the local zone, and ``asyncio.sleep`` in message handlers and scheduled functions wait on their
        service's clock; ``time.monotonic()`` / ``time.perf_counter()`` keep running in real time."""
        if self._freezer is None:
            from freezegun import api, freeze_time  # a test dependency: imported only when freezing

            # inside another freeze (a user's freeze_time), that one has patched the modules and undoes it
            self._patches_modules = not api.freeze_factories
            # no real_asyncio: it builds and closes an event loop per freeze, and the loop reads the real monotonic
            # clock anyway once _restore_real_duration_clocks() has put it back. Every module is "ignored": its
            # scan of all loaded modules is done by fake_wall_clock_references() over the few that need it.
            freezer = freeze_time(self._naive_utc(), ignore=[""])
            self._frozen_factory = freezer.start()
            self._freezer = freezer
            self._replaced_fakes = _restore_real_duration_clocks(freezer)
            self._replaced_fakes += self._read_time_directly()
            _read_wall_clock_without_stack_inspection()
            if self._patches_modules:
                fake_wall_clock_references()
            self._replaced_zone = make_local_zone_utc()
            virtual_sleep.install()
        return self

    def _read_time_directly(self) -> list[tuple[object, str, Any]]:
        """``time.time()`` answered from this clock while its freeze is the newest: freezegun's fake works the
        seconds out of a datetime (more than a message's envelope costs otherwise); in a user's freeze nested
        inside this one, freezegun's answers."""
        from freezegun import api

        fake = time.time
        if fake is not api.fake_time:
            return []
        factories, factory = api.freeze_factories, self._frozen_factory

        def virtual_time() -> float:
            if factories and factories[-1] is factory:
                return self._now / 1_000_000
            return fake()

        time.time = virtual_time
        return [(time, "time", fake)]

    def unfreeze(self) -> None:
        if self._freezer is not None:
            freezer, self._freezer, self._frozen_factory = self._freezer, None, None
            for owner, name, fake in reversed(self._replaced_fakes):
                setattr(owner, name, fake)
            self._replaced_fakes = []
            virtual_sleep.uninstall()
            if self._patches_modules:
                restore_wall_clock_references()
            restore_local_zone(self._replaced_zone)
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

    def _forward(self, amount: Duration, method: str) -> int:
        """``amount`` in microseconds; a clear error when it would move the clock backwards."""
        delta = parse_duration(amount)
        if delta < timedelta(0):
            raise ValueError(
                f"a VirtualClock cannot go backwards: {method}({amount!r}) is a negative amount "
                f"({readable_duration(delta)}); "
                f"the current virtual time is {self.now().isoformat()}"
            )
        return delta // _MICROSECOND

    def _naive_utc(self) -> datetime:
        return datetime(1970, 1, 1) + timedelta(microseconds=self._now)

    def _set_now(self, value: int) -> None:
        if value > self._now:
            self._now = value
            if self._frozen_factory is not None:
                # assigning the frozen instant directly is the cheap path (move_to re-parses and re-derives it)
                self._frozen_factory.time_to_freeze = self._naive_utc()

    def _schedule(self, due: int, callback: Callable[..., object], args: tuple[object, ...]) -> VirtualTimer:
        timer = VirtualTimer(self, due, callback, args)
        heapq.heappush(self._heap, (due, next(self._sequence), timer))
        self._pending += 1
        return timer

    async def _wait_until(self, due: int) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        timer = self._schedule(due, _resolve, (future,))
        self._sleeping[future] = due
        try:
            await future
        finally:
            timer.cancel()
            del self._sleeping[future]

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


def _read_wall_clock_without_stack_inspection() -> None:
    """freezegun walks the caller's stack on every ``time.time()`` / ``datetime.now()`` to let a list of modules
    see real time, costing more than building a message; those modules time with ``monotonic`` /
    ``perf_counter``, which stay real here anyway, so the newest freeze ignores no module (its list, ``[""]``,
    only served to skip freezegun's own module scan)."""
    from freezegun import api

    if api.ignore_lists:
        api.ignore_lists[-1] = ()


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
