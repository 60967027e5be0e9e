"""Helpers shared by the real-RabbitMQ tests: names, a raw probe connection, bounded waits, connection kills."""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aioamqp
import pytest

from tomodachi.messaging.amqp.naming import DEAD_LETTER_EXCHANGE

AMQP_HOST = os.environ.get("TOMODACHI_TEST_AMQP_HOST", "127.0.0.1")
AMQP_PORT = int(os.environ.get("TOMODACHI_TEST_AMQP_PORT", "5672"))


WAIT = 15.0  # the longest any single wait in these tests may take (real seconds)


@dataclass
class Names:
    """Unique names for one test: its exchange and its queue-name prefix."""

    run_id: str

    @property
    def exchange(self) -> str:
        return f"itest-{self.run_id}.topic"

    @property
    def queue_prefix(self) -> str:
        return f"itest-{self.run_id}-"

    def options(self, **extra: Any) -> dict[str, Any]:
        return {
            "amqp.host": AMQP_HOST,
            "amqp.port": AMQP_PORT,
            "amqp.exchange_name": self.exchange,
            "amqp.queue_name_prefix": self.queue_prefix,
            "amqp.queue_ttl": 300,  # queues left behind by a crashed run vanish on their own
            **extra,
        }


class Probe:
    """A raw aioamqp connection for the test's own look at the broker (read a queue, delete things)."""

    def __init__(self) -> None:
        self.transport: Any = None
        self.protocol: Any = None
        self.channel: Any = None

    async def open(self) -> None:
        self.transport, self.protocol = await aioamqp.connect(AMQP_HOST, AMQP_PORT)
        self.channel = await self.protocol.channel()

    async def ensure(self) -> Any:
        if self.protocol is None or self.protocol.connection_closed.is_set() or not self.channel.is_open:
            await self.open()
        return self.channel

    async def get(self, queue: str, timeout: float = WAIT) -> tuple[bytes, Any]:
        """The next message on ``queue`` (acknowledged), waiting up to ``timeout`` seconds."""
        channel = await self.ensure()
        received: asyncio.Future[tuple[bytes, Any]] = asyncio.get_running_loop().create_future()

        async def on_message(ch: Any, body: bytes, envelope: Any, properties: Any) -> None:
            await ch.basic_client_ack(envelope.delivery_tag)
            if not received.done():
                received.set_result((body, properties))

        await channel.basic_qos(prefetch_count=1)
        result = await channel.basic_consume(on_message, queue_name=queue)
        try:
            return await asyncio.wait_for(received, timeout)
        finally:
            await channel.basic_cancel(result["consumer_tag"])

    async def message_count(self, queue: str) -> int:
        channel = await self.ensure()
        result = await channel.queue_declare(queue, passive=True)
        return int(result["message_count"])

    async def delete(self, queues: set[str], exchanges: set[str]) -> None:
        for queue in queues:
            channel = await self.ensure()
            try:
                await channel.queue_delete(queue)
            except aioamqp.AioamqpException:
                pass
        for exchange in exchanges:
            if exchange.startswith("amq.") or exchange == DEAD_LETTER_EXCHANGE:
                continue
            channel = await self.ensure()
            try:
                await channel.exchange_delete(exchange)
            except aioamqp.AioamqpException:
                pass

    async def close(self) -> None:
        if self.protocol is not None and not self.protocol.connection_closed.is_set():
            try:
                await asyncio.wait_for(self.protocol.close(), 5)
            except (asyncio.TimeoutError, aioamqp.AioamqpException, OSError):
                self.transport.close()


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
