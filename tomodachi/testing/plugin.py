"""pytest plugin (registered via the pytest11 entry point): tomodachi_service, virtual_clock, fake_amqp, fake_sns_sqs.

Works with pytest-asyncio in auto and strict mode; every fixture lives on the test's own event loop.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from tomodachi.testing.clock import VirtualClock
from tomodachi.testing.harness import ServiceHandle, ServiceHarness

ServiceFactory = Callable[..., Awaitable[ServiceHandle]]


@pytest.fixture
def virtual_clock() -> Iterator[VirtualClock]:
    """The clock every service of this test runs on. Moves only on ``await virtual_clock.advance(...)``;
    while the test runs, ``datetime.now()``/``time.time()`` in user code read virtual time."""
    clock = VirtualClock()
    clock.freeze()
    try:
        yield clock
    finally:
        clock.unfreeze()


@pytest_asyncio.fixture
async def tomodachi_harness(virtual_clock: VirtualClock) -> AsyncIterator[ServiceHarness]:
    """The harness behind ``tomodachi_service``: one Environment per test, stopped at teardown."""
    harness = ServiceHarness(virtual_clock)
    try:
        yield harness
    finally:
        await harness.stop_all()
    harness.raise_unnoticed()


@pytest.fixture
def tomodachi_service(tomodachi_harness: ServiceHarness) -> ServiceFactory:
    """Async factory: ``svc = await tomodachi_service(MyService)`` (a class or a service file path).

    The service starts in-process on the test's virtual clock and in-memory brokers, runs its lifecycle
    hooks, and is stopped gracefully at teardown. Teardown fails the test if a handler raised an exception
    the test did not take (``svc.take_errors()``) or expect (``svc.expect_errors(ExcType)``).
    """

    async def start(service: type | str | Path, **kwargs: Any) -> ServiceHandle:
        return await tomodachi_harness.start(service, **kwargs)

    return start


@pytest.fixture
def fake_amqp(tomodachi_harness: ServiceHarness) -> Any:
    """The in-memory AMQP broker shared by this test's services (inspection and fault-injection hooks)."""
    return tomodachi_harness.fake("amqp")


@pytest.fixture
def fake_sns_sqs(tomodachi_harness: ServiceHarness) -> Any:
    """The in-memory SNS+SQS broker shared by this test's services (inspection and fault-injection hooks)."""
    return tomodachi_harness.fake("aws_sns_sqs")
