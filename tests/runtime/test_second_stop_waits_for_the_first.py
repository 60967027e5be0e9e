"""A second stop() waits for the stop in progress, which a cancelled caller cannot abort."""

from __future__ import annotations

import asyncio
from typing import Any

import tomodachi
from tomodachi.handlers import invoker
from tomodachi.runtime.container import ServiceContainer
from tomodachi.runtime.environment import Environment


@invoker("recording")
def recording(topic: str = "default") -> dict[str, Any]:
    return {"topic": topic}


class SlowStopping(tomodachi.Service):
    name = "slow-stopping"

    def __init__(self) -> None:
        self.events: list[str] = []
        self.release = asyncio.Event()

    async def _stopping_service(self) -> None:
        await self.release.wait()

    async def _stop_service(self) -> None:
        self.events.append("_stop_service")

    @recording("a")
    async def on_a(self) -> None:
        pass


async def test_a_second_stop_waits_for_the_stop_in_progress() -> None:
    container = ServiceContainer(SlowStopping, Environment())
    await container.start()
    first = asyncio.create_task(container.stop())
    await asyncio.sleep(0)  # the first stop is now waiting in _stopping_service
    second = asyncio.create_task(container.stop())
    done, _ = await asyncio.wait({second}, timeout=0.05)
    assert not done, "stop() returned while the service was still stopping"
    container.instance.release.set()
    await asyncio.wait_for(asyncio.gather(first, second), 5)
    assert container.instance.events.count("_stop_service") == 1


async def test_a_cancelled_stop_still_completes_for_the_next_caller() -> None:
    container = ServiceContainer(SlowStopping, Environment())
    await container.start()
    first = asyncio.create_task(container.stop())
    await asyncio.sleep(0)
    first.cancel()  # e.g. the reload watcher cancelled in the middle of a restart
    await asyncio.gather(first, return_exceptions=True)
    container.instance.release.set()
    await asyncio.wait_for(container.stop(), 5)
    assert container.stopped.is_set()
    assert container.instance.events.count("_stop_service") == 1
