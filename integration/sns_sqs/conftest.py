"""Fixtures for SNS+SQS against a moto server: the server, fake credentials, a harness on the real broker."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from sns_sqs_support import FAKE_CREDENTIALS, aws_options, moto_settings

from tomodachi.messaging.sns_sqs.aws_client import AwsSnsSqsClient
from tomodachi.runtime.clock import RealClock
from tomodachi.testing.harness import ServiceHarness
from tomodachi.testing.wires import moto_server


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    """One moto server for the session; tests keep apart by their name prefix."""
    with moto_server() as url:
        yield url


@pytest.fixture(autouse=True)
def fake_aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in FAKE_CREDENTIALS.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
async def aws(moto_url: str) -> AsyncIterator[AwsSnsSqsClient]:
    """A client of the test's own to inspect what the services created."""
    client = AwsSnsSqsClient(moto_settings(moto_url), RealClock())
    yield client
    await client.close()


@pytest.fixture
def prefix() -> str:
    """A per-test name prefix, so tests sharing one moto server never see each other's topics and queues."""
    return f"i{uuid.uuid4().hex[:6]}-"


@pytest.fixture
def options(moto_url: str, prefix: str) -> dict[str, Any]:
    return aws_options(moto_url, prefix)


@pytest.fixture
async def harness() -> AsyncIterator[ServiceHarness]:
    """Services on the real aiobotocore broker (no in-memory SNS+SQS), real clock; stopped at teardown."""
    harness = ServiceHarness(RealClock())
    harness.environment.broker_factories.pop("aws_sns_sqs", None)
    try:
        yield harness
    finally:
        await harness.stop_all()
        for broker in harness.environment.brokers():
            close = getattr(broker, "close", None)
            if close is not None:
                await close()
    harness.raise_unnoticed()
