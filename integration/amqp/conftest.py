"""Fixtures for the tests against a real RabbitMQ: reachability gate (skip locally, fail on CI), per-test
name prefixes, a harness whose services use the real broker, a raw probe connection, and clean-up."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio
from amqp_support import AMQP_HOST, AMQP_PORT, Names, Probe

from tomodachi.runtime.clock import RealClock
from tomodachi.testing.harness import ServiceHarness


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


@pytest.fixture
def names(rabbitmq: tuple[str, int]) -> Names:
    return Names(uuid.uuid4().hex[:10])


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
