"""``settle()`` and ``run_until_idle()``: deliver until nothing can happen without the clock, then move the clock.

A fake is *busy* while some message work can still progress at the current virtual time (a message ready for a
consumer with room, a handler running that is not waiting on the virtual clock). Work that waits on the clock
(retry back-offs, visibility timeouts, delays, consumer back-offs, handlers sleeping on the clock) is *pending*.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from tomodachi.runtime.clock import Clock
from tomodachi.testing.clock import readable_duration
from tomodachi.testing.records import Pending

# consecutive zero-time rounds without busy work before settle() trusts that nothing is on its way
STABLE_ROUNDS = 5
# zero-time rounds spent spinning on busy work before waiting for a change (with a short real timeout)
SPIN_ROUNDS = 20
POLL_SECONDS = 0.005
DEFAULT_SETTLE_TIMEOUT = 10.0
# the end of what a SettleTimeout's ``busy`` says, on either wire
LONGER_TIMEOUT_HINT = (
    "a handler that waits in real time (a slow network call, an event) keeps the wait going: give it a longer timeout"
)


class SettleTimeout(TimeoutError):
    """``settle()`` gave up: message work was still busy (not waiting on the virtual clock) after its timeout.
    ``busy`` says what (the message without its first clause, for callers that waited for something else)."""

    def __init__(self, timeout: float, busy: str) -> None:
        super().__init__(f"settle() timed out after {timeout:g} s of real time; {busy}")
        self.busy = busy


class IdleTimeout(TimeoutError):
    """``run_until_idle()`` reached its limit on the virtual clock with work still pending."""


class Settleable(Protocol):
    """What settle() needs from a fake (each fake implements it over its broker)."""

    @property
    def bus(self) -> str: ...

    def busy(self, detail: bool = False) -> list[str]: ...

    def pending(self) -> list[Pending]: ...

    def changed(self) -> asyncio.Event: ...


async def settle(parts: Sequence[Settleable], clock: Clock, timeout: float = DEFAULT_SETTLE_TIMEOUT) -> None:
    """Return once no part is busy (steadily, so follow-up publishes are caught); never moves the clock."""
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout < 0:
        raise ValueError(f"settle(timeout=...) takes real seconds, a number >= 0, not {timeout!r}")
    deadline = time.monotonic() + timeout
    stable = spins = 0
    while True:
        await asyncio.sleep(0)
        if not any(part.busy() for part in parts):
            stable += 1
            spins = 0
            if stable >= STABLE_ROUNDS:
                return
            continue
        stable = 0
        spins += 1
        if spins < SPIN_ROUNDS:
            continue
        if time.monotonic() > deadline:
            raise SettleTimeout(timeout, _still_busy(parts, clock))
        await _wait_for_change(parts)


async def run_until_idle(
    parts: Sequence[Settleable], clock: Any, limit: timedelta, timeout: float = DEFAULT_SETTLE_TIMEOUT
) -> None:
    """Settle, then advance ``clock`` (a VirtualClock) to the earliest pending item, until nothing is pending.

    Raises :class:`IdleTimeout` if work is still pending once ``limit`` of virtual time has passed."""
    if limit < timedelta(0):
        raise ValueError(
            f"run_until_idle(limit={readable_duration(limit)}): the limit must not be negative (time only moves forward)"
        )
    horizon = clock.now() + limit
    while True:
        await settle(parts, clock, timeout)
        pending = [item for part in parts for item in part.pending()]
        if not pending:
            return
        due = min(item.due for item in pending)
        if due > horizon:
            lines = "\n".join(f"  {item}" for item in sorted(pending, key=lambda item: item.due))
            raise IdleTimeout(
                f"run_until_idle(limit={readable_duration(limit)}) stopped at virtual time {clock.now().isoformat()} "
                f"(the virtual clock) with {len(pending)} item(s) still pending:\n{lines}"
            )
        await clock.advance_to(max(due, clock.now()))


def pending_of(parts: Sequence[Settleable]) -> list[Pending]:
    return sorted((item for part in parts for item in part.pending()), key=lambda item: item.due)


async def _wait_for_change(parts: Sequence[Settleable]) -> None:
    events = [part.changed() for part in parts]
    for event in events:
        event.clear()
    waiters = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, timeout=POLL_SECONDS, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


def _still_busy(parts: Sequence[Settleable], clock: Clock) -> str:
    busy = [f"  {line}" for part in parts for line in part.busy(detail=True)]
    pending = [f"  {item}" for item in pending_of(parts)]
    message = f"still busy (not waiting on the virtual clock, which stands at {_iso(clock.now())}):\n" + "\n".join(busy)
    if pending:
        message += "\npending on the virtual clock:\n" + "\n".join(pending)
    return f"{message}\n{LONGER_TIMEOUT_HINT}"


def _iso(moment: datetime) -> str:
    return moment.isoformat()
