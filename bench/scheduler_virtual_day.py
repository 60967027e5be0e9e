"""Benchmark: a @minutely job over one virtual day (1,440 runs) on a VirtualClock, in wall-clock seconds.

Run: .venv/bin/python bench/scheduler_virtual_day.py [--no-freeze]
"""

from __future__ import annotations

import asyncio
import sys
from datetime import datetime, timedelta, timezone
from typing import Any

import tomodachi
from tomodachi.handlers import specs_of
from tomodachi.runtime.environment import Environment
from tomodachi.runtime.transport import BoundHandler, TransportContext
from tomodachi.testing.clock import VirtualClock
from tomodachi.transport.schedule.transport import create_transport


class Service(tomodachi.Service):
    name = "bench"
    runs = 0

    @tomodachi.minutely
    async def tick(self, invocation_time: str) -> None:
        type(self).runs += 1
        datetime.now(timezone.utc)


async def main(freeze: bool) -> None:
    service = Service()
    clock = VirtualClock(datetime(2024, 1, 1, tzinfo=timezone.utc))
    handler = BoundHandler("tick", service.tick, specs_of(Service.tick)[0])
    context: Any = TransportContext(service, None, Environment(clock=clock), (handler,))  # type: ignore[arg-type]
    transport = create_transport(context)
    if freeze:
        clock.freeze()
    try:
        await transport.setup()
        await transport.start()
        began_real = _real_seconds()  # time.perf_counter is frozen while freezegun is active
        await clock.advance(timedelta(days=1))
        elapsed = _real_seconds() - began_real
        await transport.stop(0)
    finally:
        clock.unfreeze()
    print(
        f"runs={Service.runs} freeze={freeze} wall={elapsed:.3f}s ({elapsed / max(1, Service.runs) * 1e6:.0f} µs/run)"
    )


def _real_seconds() -> float:
    from freezegun.api import real_perf_counter  # the original, unpatched perf_counter

    return float(real_perf_counter())


if __name__ == "__main__":
    asyncio.run(main(freeze="--no-freeze" not in sys.argv))
