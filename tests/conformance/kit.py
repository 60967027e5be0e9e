"""What the conformance scenarios share: how long a real wire may take, the ``let_time_pass`` fixture's type, a
publish's refusal as a value, and a crowd of handlers that measures how many of them run at once."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

REAL_WAIT = 15.0  # real seconds any one wait may take on real wires
LetTimePass = Callable[[float], Awaitable[None]]  # the let_time_pass fixture (conftest.py)

CROWD = 3  # messages a crowd is sent; each handler waits until this many run together
GATHER_WAIT = 0.5  # real seconds a handler waits for the others before it gives up and ends


async def refusal(publish: Awaitable[object]) -> Exception | None:
    """The exception a publish raised, or ``None`` when it was accepted."""
    try:
        await publish
    except Exception as exc:  # each wire raises its own type; that one is raised is what a scenario pins
        return exc
    return None


class Gathering:
    """Mixed into a service: each handler that calls :meth:`gather` waits until ``CROWD`` run at once (at most
    ``GATHER_WAIT`` s); ``peak`` is the most that ran together."""

    def __init__(self) -> None:
        super().__init__()
        self.running = 0
        self.peak = 0
        self.together = asyncio.Event()

    async def gather(self) -> None:
        self.running += 1
        self.peak = max(self.peak, self.running)
        if self.running >= CROWD:
            self.together.set()
        try:
            await asyncio.wait_for(self.together.wait(), timeout=GATHER_WAIT)
        except TimeoutError:
            pass
        finally:
            self.running -= 1
