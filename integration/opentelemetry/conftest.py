"""Fixtures for trace propagation against upstream tomodachi: reachability gates for RabbitMQ and moto (skip locally,
fail with ``CI=true``), the upstream virtualenv, harnesses whose instrumented services use the real brokers."""

from __future__ import annotations

import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from otel_interop_support import StartUpstream, UpstreamProcess, skip_or_fail, start_upstream, upstream_otel_python

from integration.amqp.amqp_support import AMQP_HOST, AMQP_PORT, Names, Probe
from integration.sns_sqs.sns_sqs_support import moto_settings
from tomodachi.messaging.sns_sqs.aws_client import AwsSnsSqsClient
from tomodachi.runtime.clock import RealClock
from tomodachi.testing.harness import ServiceHarness
from tomodachi.testing.otel import SpanRecorder
from tomodachi.testing.wires import moto_server


@pytest.fixture(scope="session")
def rabbitmq() -> tuple[str, int]:
    try:
        with socket.create_connection((AMQP_HOST, AMQP_PORT), timeout=2):
            pass
    except OSError as exc:
        skip_or_fail(
            f"RabbitMQ is not reachable at {AMQP_HOST}:{AMQP_PORT} ({exc}): start it with `rabbitmq-server -detached`"
        )
    return AMQP_HOST, AMQP_PORT


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    """One moto server for the session (the tests keep apart by name prefix)."""
    with ExitStack() as running:
        try:
            url = running.enter_context(moto_server())
        except Exception as exc:  # moto missing, or the server never answered
            skip_or_fail(f"no moto server could be started ({type(exc).__name__}: {exc})")
        yield url


@pytest.fixture(scope="session")
def upstream_python() -> Path:
    try:
        return upstream_otel_python()
    except Exception as exc:  # no route to PyPI, for instance
        detail = getattr(exc, "stderr", b"") or b""
        skip_or_fail(f"upstream tomodachi[opentelemetry] 0.29.0 is not available: {exc} {detail[-2000:]!r}")


@pytest.fixture
def names(rabbitmq: tuple[str, int]) -> Names:
    return Names(f"otel-{uuid.uuid4().hex[:10]}")


@pytest.fixture
def prefix(moto_url: str) -> str:
    return f"o{uuid.uuid4().hex[:6]}-"


@pytest_asyncio.fixture
async def probe(rabbitmq: tuple[str, int]) -> AsyncIterator[Probe]:
    probe = Probe()
    await probe.open()
    try:
        yield probe
    finally:
        await probe.close()


@pytest_asyncio.fixture
async def aws(moto_url: str) -> AsyncIterator[AwsSnsSqsClient]:
    """A client of the test's own, to tap what the services publish."""
    client = AwsSnsSqsClient(moto_settings(moto_url), RealClock())
    try:
        yield client
    finally:
        await client.close()


async def _close_brokers(harness: ServiceHarness) -> tuple[set[str], set[str]]:
    """Stop the services, close their brokers; the AMQP queues and exchanges they declared."""
    await harness.stop_all()
    queues: set[str] = set()
    exchanges: set[str] = set()
    for broker in harness.environment.brokers():
        queues |= set(getattr(broker, "declared_queues", ()))
        exchanges |= set(getattr(broker, "declared_exchanges", ()))
        close: Any = getattr(broker, "close", None)
        if close is not None:
            await close()
    return queues, exchanges


@pytest_asyncio.fixture
async def amqp_harness(otel_spans: SpanRecorder, names: Names, probe: Probe) -> AsyncIterator[ServiceHarness]:
    """Instrumented services (spans into ``otel_spans``) on RabbitMQ and the real clock; their queues and exchange
    deleted at teardown."""
    harness = ServiceHarness(RealClock())
    harness.environment.broker_factories.pop("amqp", None)
    try:
        yield harness
    finally:
        queues, exchanges = await _close_brokers(harness)
        await probe.delete(queues, exchanges | {names.exchange})
    harness.raise_unnoticed()


@pytest_asyncio.fixture
async def sns_harness(otel_spans: SpanRecorder, moto_url: str) -> AsyncIterator[ServiceHarness]:
    """Instrumented services (spans into ``otel_spans``) on the moto server and the real clock."""
    harness = ServiceHarness(RealClock())
    harness.environment.broker_factories.pop("aws_sns_sqs", None)
    try:
        yield harness
    finally:
        await _close_brokers(harness)
    harness.raise_unnoticed()


@pytest_asyncio.fixture
async def upstream(upstream_python: Path, tmp_path: Path) -> AsyncIterator[StartUpstream]:
    """Starts the upstream service (source, environment) when the test says so; stopped at teardown."""
    started: list[UpstreamProcess] = []

    async def start(source: str, env: dict[str, str]) -> UpstreamProcess:
        started.append(await start_upstream(upstream_python, source, tmp_path, "upstream-otel", env))
        return started[-1]

    try:
        yield start
    finally:
        for process in started:
            await process.stop()
