"""While a VirtualClock freezes the wall clock, ``asyncio.sleep`` in a message handler or a scheduled function waits
on the clock of its service: a handler's back-off or polling runs in virtual time, and settle() / run_until_idle()
see it as pending work. Everywhere else (the test's own code, HTTP handlers, libraries) it stays real."""

from __future__ import annotations

import asyncio
from typing import Any

from tomodachi.runtime.clock import RealClock, handler_clock

real_sleep = asyncio.sleep
_installed = 0  # freezes under way (they nest): the patch stays until the last one ends


async def sleep(delay: float, result: Any = None) -> Any:
    """``asyncio.sleep``: on the virtual clock of the handler running here, else the real one."""
    if delay > 0:
        clock = handler_clock.get()
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
