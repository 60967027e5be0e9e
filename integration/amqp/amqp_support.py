"""Helpers shared by the real-RabbitMQ tests: bounded waits and broker-side connection kills."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Callable

import pytest

WAIT = 15.0  # the longest any single wait in these tests may take (real seconds)


async def wait_for(event: asyncio.Event, what: str, timeout: float = WAIT) -> None:
    """Await an event set by a handler, failing the test with ``what`` after ``timeout`` seconds."""
    try:
        await asyncio.wait_for(event.wait(), timeout)
    except asyncio.TimeoutError:
        pytest.fail(f"timed out after {timeout:g}s waiting for {what}")


class Counter:
    """Counts calls and wakes waiters once a count (or a predicate) is reached."""

    def __init__(self) -> None:
        self.items: list[object] = []
        self._changed = asyncio.Event()

    def add(self, item: object) -> None:
        self.items.append(item)
        self._changed.set()

    async def wait_until(self, predicate: Callable[[list[object]], bool], what: str, timeout: float = WAIT) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate(self.items):
            remaining = deadline - loop.time()
            if remaining <= 0:
                pytest.fail(f"timed out after {timeout:g}s waiting for {what}; have {len(self.items)} item(s)")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except asyncio.TimeoutError:
                continue

    async def wait_count(self, count: int, what: str, timeout: float = WAIT) -> None:
        await self.wait_until(lambda items: len(items) >= count, what, timeout)


async def close_all_connections(reason: str = "test") -> None:
    """Have RabbitMQ drop every client connection (as a broker restart or network cut would)."""
    process = await asyncio.create_subprocess_exec(
        "rabbitmqctl", "close_all_connections", reason, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, f"rabbitmqctl close_all_connections failed: {stderr.decode(errors='replace')}"
