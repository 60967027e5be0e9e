"""While a VirtualClock freezes the wall clock, ``asyncio.sleep`` in a message handler waits on the clock of the
handler's service: a handler's back-off or polling runs in virtual time, and settle() / run_until_idle() see it
as pending work. Everywhere else (the test's own code, HTTP handlers, libraries) it stays real."""

from __future__ import annotations

import asyncio
from typing import Any

from tomodachi.messaging.broker import current_delivery
from tomodachi.runtime.clock import RealClock

real_sleep = asyncio.sleep
_installed = 0  # freezes under way (they nest): the patch stays until the last one ends


async def sleep(delay: float, result: Any = None) -> Any:
    """``asyncio.sleep``: on the virtual clock of the delivery being handled, else the real one."""
    if delay > 0:
        delivery = current_delivery.get(None)
        clock = delivery.clock if delivery is not None else None
        if clock is not None and not isinstance(clock, RealClock):
            await clock.sleep(delay)
            return result
    return await real_sleep(delay, result)


def install() -> None:
    global _installed
    _installed += 1
    if _installed == 1:
        asyncio.sleep = asyncio.tasks.sleep = sleep


def uninstall() -> None:
    global _installed
    _installed = max(0, _installed - 1)
    if _installed == 0:
        asyncio.sleep = asyncio.tasks.sleep = real_sleep
