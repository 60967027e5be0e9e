"""The pytest fixtures (tomodachi_service, tomodachi_harness, virtual_clock) used directly, in auto mode."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from testing_support import delivering

import tomodachi
from tomodachi.runtime.container import ServiceStartError
from tomodachi.testing.clock import VirtualClock
from tomodachi.testing.harness import ServiceHarness, UnnoticedErrors


class Counter(tomodachi.Service):
    name = "counter"

    def __init__(self) -> None:
        self.events: list[str] = []
        self.total = 0

    async def _start_service(self) -> None:
        self.events.append("_start_service")

    async def _started_service(self) -> None:
        self.events.append("_started_service")

    async def _stop_service(self) -> None:
        self.events.append("_stop_service")

    @delivering("add")
    async def add(self, amount: int) -> int:
        if amount < 0:
            raise ValueError(f"negative amount {amount}")
        self.total += amount
        return self.total


def transport_of(handle: Any) -> Any:
    return handle.container.transports["delivering"]


async def test_service_from_class(tomodachi_service: Any) -> None:
    svc = await tomodachi_service(Counter)
    assert isinstance(svc.instance, Counter)
    assert svc.name == "counter"
    assert svc.instance.events == ["_start_service", "_started_service"]
    assert tomodachi.get_service() is svc.instance
    assert tomodachi.get_service("counter") is svc.instance
    assert await transport_of(svc).deliver("add", 5) == [5]
    assert svc.instance.total == 5


async def test_service_is_stopped_by_the_harness(tomodachi_harness: ServiceHarness, tomodachi_service: Any) -> None:
    svc = await tomodachi_service(Counter)
    transport = transport_of(svc)
    assert transport.running
    await tomodachi_harness.stop_all()
    assert not transport.running
    assert svc.instance.events[-1] == "_stop_service"
    assert tomodachi.get_service("counter") is None


async def test_service_from_file_path(tomodachi_service: Any, tmp_path: Path) -> None:
    path = tmp_path / "file_based_service.py"
    path.write_text(
        "import tomodachi\n"
        "class FileService(tomodachi.Service):\n"
        "    name = 'from-file'\n"
        "    started = False\n"
        "    async def _started_service(self):\n"
        "        self.started = True\n"
    )
    for target in (path, str(path)):
        svc = await tomodachi_service(target)
        assert svc.name == "from-file"
        assert svc.instance.started
        assert svc.instance.context["_service_file_path"] == str(path.resolve())
        await svc.stop()


async def test_options_are_merged_over_class_options(tomodachi_service: Any) -> None:
    class WithOptions(Counter):
        options = tomodachi.Options(http={"port": 1234})

    svc = await tomodachi_service(WithOptions, options={"http.host": "127.0.0.1"})
    assert (svc.instance.options.http.port, svc.instance.options.http.host) == (1234, "127.0.0.1")


async def test_take_errors_returns_and_clears_handler_errors(tomodachi_service: Any) -> None:
    svc = await tomodachi_service(Counter)
    await transport_of(svc).deliver("add", -1)
    assert [str(e) for e in svc.errors] == ["negative amount -1"]
    taken = svc.take_errors()
    assert len(taken) == 1 and isinstance(taken[0], ValueError)
    assert svc.errors == []
    assert svc.take_errors() == []


async def test_expect_errors_accepts_declared_types(tomodachi_service: Any) -> None:
    svc = await tomodachi_service(Counter)
    svc.expect_errors(ValueError)
    await transport_of(svc).deliver("add", -2)
    assert len(svc.errors) == 1  # still visible, but it will not fail the test


async def test_expect_errors_without_a_type_is_refused_rather_than_expecting_nothing(tomodachi_service: Any) -> None:
    svc = await tomodachi_service(Counter)
    with pytest.raises(TypeError, match=r"expect_errors\(Exception\) expects any error"):
        svc.expect_errors()


@pytest.mark.parametrize(
    ("given", "said"),
    [
        (dict, r"dict is not a service class \(subclass tomodachi.Service\)"),
        (Counter(), "not Counter .*pass the class, not an instance"),
        (42, "start a service class or a service file's path, not int 42"),
    ],
)
async def test_starting_what_is_not_a_service_says_what_to_pass(tomodachi_service: Any, given: Any, said: str) -> None:
    with pytest.raises(TypeError, match=said):
        await tomodachi_service(given)


async def test_a_relative_service_file_that_is_missing_names_the_working_directory(tomodachi_service: Any) -> None:
    with pytest.raises(
        Exception, match=r"no such service file: nowhere/service\.py \(relative to the working directory /"
    ):
        await tomodachi_service("nowhere/service.py")


async def test_errors_are_kept_per_service(tomodachi_service: Any) -> None:
    class Other(Counter):
        name = "other"

    counter, other = await tomodachi_service(Counter), await tomodachi_service(Other)
    await transport_of(other).deliver("add", -3)
    assert counter.errors == []
    assert counter.take_errors() == []
    assert len(other.take_errors()) == 1


async def test_unnoticed_errors_are_reported_by_the_harness(virtual_clock: VirtualClock) -> None:
    harness = ServiceHarness(virtual_clock)
    svc = await harness.start(Counter)
    await transport_of(svc).deliver("add", -4)
    await harness.stop_all()
    with pytest.raises(UnnoticedErrors, match=r"counter\.add: ValueError: negative amount -4"):
        harness.raise_unnoticed()


async def test_start_failure_raises_service_start_error(tomodachi_service: Any) -> None:
    class Broken(Counter):
        name = "broken"

        async def _started_service(self) -> None:
            raise RuntimeError("no database")

    with pytest.raises(ServiceStartError, match="no database") as info:
        await tomodachi_service(Broken)
    assert info.value.stage == "_started_service"


async def test_handle_uses_the_test_clock(tomodachi_service: Any, virtual_clock: VirtualClock) -> None:
    svc = await tomodachi_service(Counter)
    assert svc.clock is virtual_clock
    assert svc.container.environment.http_bind == ("127.0.0.1", 0)


async def test_virtual_clock_freezes_wall_clock_reads(virtual_clock: VirtualClock) -> None:
    before = datetime.now(timezone.utc)
    assert before == virtual_clock.now()
    assert time.time() == virtual_clock.time()
    await virtual_clock.advance(timedelta(days=31))
    assert datetime.now(timezone.utc) - before == timedelta(days=31)
    assert datetime.now(timezone.utc) == virtual_clock.now()


async def test_virtual_clock_runs_timers_in_order(virtual_clock: VirtualClock) -> None:
    fired: list[tuple[str, datetime]] = []
    virtual_clock.call_later(20, lambda: fired.append(("late", datetime.now(timezone.utc))))
    virtual_clock.call_later(10, lambda: fired.append(("early", datetime.now(timezone.utc))))
    start = virtual_clock.now()
    await virtual_clock.advance(60)
    assert fired == [("early", start + timedelta(seconds=10)), ("late", start + timedelta(seconds=20))]


async def test_services_sleep_on_the_virtual_clock(tomodachi_service: Any, virtual_clock: VirtualClock) -> None:
    class Sleeper(tomodachi.Service):
        name = "sleeper"
        woke_at: datetime | None = None

        async def _started_service(self) -> None:
            import asyncio

            async def nap() -> None:
                await virtual_clock.sleep(3600)
                self.woke_at = datetime.now(timezone.utc)

            self.task = asyncio.create_task(nap())

    svc = await tomodachi_service(Sleeper)
    start = virtual_clock.now()
    await virtual_clock.advance(3599)
    assert svc.instance.woke_at is None
    await virtual_clock.advance(1)
    assert svc.instance.woke_at == start + timedelta(hours=1)


async def test_fake_brokers_are_shared_per_test(
    tomodachi_harness: ServiceHarness, fake_amqp: Any, fake_sns_sqs: Any
) -> None:
    assert type(fake_amqp.broker).__name__ == "MemoryAmqpBroker"
    assert type(fake_sns_sqs.broker).__name__ == "MemorySnsSqsBroker"
    assert tomodachi_harness.fake("amqp") is fake_amqp
    assert tomodachi_harness.fake("aws_sns_sqs") is fake_sns_sqs
    # a service's transport gets the fake's broker through the environment's broker factories
    assert tomodachi_harness.environment.broker("amqp", "any-connection", lambda: None) is fake_amqp.broker


class Greeter(tomodachi.Service):
    name = "greeter"

    @tomodachi.http("GET", r"/hello")
    async def hello(self) -> str:
        return "hello"


async def test_http_of_a_stopped_service_says_it_is_stopped(tomodachi_service: Any) -> None:
    svc = await tomodachi_service(Greeter)
    async with svc.http.get("/hello") as response:
        assert await response.text() == "hello"
    await svc.stop()
    with pytest.raises(RuntimeError, match="service 'greeter' is stopped: its HTTP server is gone"):
        svc.http.get("/hello")
