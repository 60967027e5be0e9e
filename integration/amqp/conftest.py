"""Fixtures for the tests against a real RabbitMQ: reachability gate (skip locally, fail on CI), per-test
name prefixes, a harness whose services use the real broker, a raw probe connection, and clean-up."""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import aioamqp
import pytest
import pytest_asyncio

from tomodachi.messaging.amqp.naming import DEAD_LETTER_EXCHANGE
from tomodachi.runtime.clock import RealClock
from tomodachi.testing.harness import ServiceHarness

AMQP_HOST = os.environ.get("TOMODACHI_TEST_AMQP_HOST", "127.0.0.1")
AMQP_PORT = int(os.environ.get("TOMODACHI_TEST_AMQP_PORT", "5672"))
WAIT = 15.0  # the longest a probe read may take (real seconds)


def _reachable() -> str | None:
    try:
        with socket.create_connection((AMQP_HOST, AMQP_PORT), timeout=2):
            return None
    except OSError as exc:
        return f"RabbitMQ is not reachable at {AMQP_HOST}:{AMQP_PORT} ({exc})"


@pytest.fixture(scope="session")
def rabbitmq() -> Iterator[tuple[str, int]]:
    """Gate: skip (or, with CI=true, fail) when RabbitMQ is not reachable."""
    problem = _reachable()
    if problem:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{problem} — integration tests need RabbitMQ on CI (start it: rabbitmq-server -detached)")
        pytest.skip(f"{problem} — start it with `rabbitmq-server -detached` to run these tests")
    yield AMQP_HOST, AMQP_PORT


@dataclass
class Names:
    """Unique names for one test: exchange, queue prefix and routing-key prefix."""

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


@pytest.fixture
def names(rabbitmq: tuple[str, int]) -> Names:
    return Names(uuid.uuid4().hex[:10])


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


@pytest_asyncio.fixture
async def probe(rabbitmq: tuple[str, int]) -> AsyncIterator[Probe]:
    probe = Probe()
    await probe.open()
    try:
        yield probe
    finally:
        await probe.close()


@pytest_asyncio.fixture
async def real_harness(names: Names, probe: Probe) -> AsyncIterator[ServiceHarness]:
    """A harness on the real clock whose services build the real RabbitMQ broker (no memory fake)."""
    harness = ServiceHarness(RealClock())
    harness.environment.broker_factories.pop("amqp", None)
    try:
        yield harness
    finally:
        await harness.stop_all()
        queues: set[str] = set()
        exchanges: set[str] = {names.exchange}
        for broker in harness.environment.brokers():
            queues |= set(getattr(broker, "declared_queues", ()))
            exchanges |= set(getattr(broker, "declared_exchanges", ()))
            close = getattr(broker, "close", None)
            if close is not None:
                await close()
        await probe.delete(queues, exchanges)
    harness.raise_unnoticed()
