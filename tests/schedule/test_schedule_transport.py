"""The schedule transport driven by a VirtualClock: fire times, injection, errors, overlap limit, stop."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest

import tomodachi
from tomodachi.handler_check import HandlerSignatureError
from tomodachi.handlers import HandlerSpec, specs_of
from tomodachi.runtime import context as execution_context
from tomodachi.runtime.environment import Environment
from tomodachi.runtime.transport import BoundHandler, TransportContext
from tomodachi.testing.clock import VirtualClock
from tomodachi.transport.schedule.parse import InvalidScheduleError
from tomodachi.transport.schedule.transport import MAX_UNFINISHED_TASKS, ScheduleTransport, create_transport

UTC = timezone.utc
START = datetime(2024, 3, 1, 12, 0, 0, tzinfo=UTC)


class Harness:
    """One schedule transport for one tiny service object on a VirtualClock."""

    def __init__(self, service: Any, clock: VirtualClock) -> None:
        self.clock = clock
        self.errors: list[tuple[BaseException, str]] = []
        handlers = tuple(
            BoundHandler(name=name, func=getattr(service, name), spec=spec)
            for name in dir(type(service))
            for spec in specs_of(getattr(type(service), name))
            if spec.transport == "schedule"
        )
        environment = Environment(clock=clock, report_error=lambda exc, where: self.errors.append((exc, where)))
        self.environment = environment
        self.transport = create_transport(
            TransportContext(service=service, options=None, environment=environment, handlers=handlers)  # type: ignore[arg-type]
        )

    async def start(self) -> None:
        await self.transport.setup()
        await self.transport.start()


@pytest.fixture
async def run() -> AsyncIterator[Callable[..., Any]]:
    harnesses: list[Harness] = []

    async def start(service: Any, start: datetime = START) -> Harness:
        harness = Harness(service, VirtualClock(start).freeze())
        harnesses.append(harness)
        await harness.start()
        return harness

    yield start
    for harness in harnesses:
        await harness.transport.stop(0)
        harness.clock.unfreeze()


class Recorder(tomodachi.Service):
    name = "recorder"

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []


async def test_minutely_over_one_virtual_day(run: Callable[..., Any]) -> None:
    class Service(Recorder):
        @tomodachi.minutely
        async def tick(self, invocation_time: str) -> None:
            self.calls.append({"invocation_time": invocation_time, "now": datetime.now(UTC)})

    service = Service()
    harness = await run(service)
    await harness.clock.advance(timedelta(days=1))
    assert len(service.calls) == 1440
    expected = [START + timedelta(minutes=k) for k in range(1, 1441)]
    assert [call["now"] for call in service.calls] == expected
    assert service.calls[0]["invocation_time"] == "2024-03-01T12:01:00Z"
    assert service.calls[-1]["invocation_time"] == "2024-03-02T12:00:00Z"


async def test_handler_sees_fire_time_as_wall_clock_in_its_zone(run: Callable[..., Any]) -> None:
    seen: list[datetime] = []
    stockholm = ZoneInfo("Europe/Stockholm")

    class Service(Recorder):
        @tomodachi.schedule(timestamp="02:30", timezone="Europe/Stockholm")
        async def nightly(self) -> None:
            seen.append(datetime.now(stockholm))

    harness = await run(Service(), datetime(2024, 3, 29, tzinfo=UTC))
    await harness.clock.advance(timedelta(days=4))
    assert [moment.strftime("%d %H:%M %Z") for moment in seen] == [
        "29 02:30 CET",
        "30 02:30 CET",
        "31 03:00 CEST",
        "01 02:30 CEST",
    ]


async def test_integer_intervals_do_not_drift_even_with_slow_handlers(run: Callable[..., Any]) -> None:
    clock_holder: list[VirtualClock] = []

    class Service(Recorder):
        @tomodachi.schedule(interval=10)
        async def slow(self) -> None:
            self.calls.append({"started": datetime.now(UTC)})
            await clock_holder[0].sleep(3.5)  # takes a third of the interval
            self.calls[-1]["finished"] = datetime.now(UTC)

    service = Service()
    start = START + timedelta(microseconds=250_000)
    harness = await run(service, start)
    clock_holder.append(harness.clock)
    await harness.clock.advance(timedelta(hours=1))
    starts = [call["started"] for call in service.calls]
    assert len(starts) == 360
    assert starts == [start + timedelta(seconds=10 * k) for k in range(1, 361)]
    assert all(call["finished"] - call["started"] == timedelta(seconds=3.5) for call in service.calls[:-1])


async def test_injection_of_invocation_time_and_interval(run: Callable[..., Any]) -> None:
    class Service(Recorder):
        @tomodachi.schedule(interval="every 30 seconds")
        async def named(self, interval: str, invocation_time: str) -> None:
            self.calls.append({"named": (interval, invocation_time)})

        @tomodachi.heartbeat
        async def any_kwargs(self, **kwargs: Any) -> None:
            self.calls.append({"kwargs": kwargs})

        @tomodachi.schedule(interval=30)
        def synchronous(self) -> None:
            self.calls.append({"sync": True})

    service = Service()
    harness = await run(service, START + timedelta(milliseconds=400))
    await harness.clock.advance(30)
    assert {"named": ("every 30 seconds", "2024-03-01T12:00:30Z")} in service.calls
    assert {"kwargs": {"invocation_time": "2024-03-01T12:00:01Z", "interval": 1}} in service.calls
    assert {"sync": True} in service.calls
    assert harness.errors == []


async def test_immediately_with_cron_runs_at_start_then_on_schedule(run: Callable[..., Any]) -> None:
    class Service(Recorder):
        @tomodachi.schedule(interval="0 */6 * * *", immediately=True)
        async def job(self, invocation_time: str) -> None:
            self.calls.append({"at": invocation_time})

    service = Service()
    harness = await run(service, START + timedelta(minutes=7, seconds=3))
    await harness.clock.settle()
    assert service.calls == [{"at": "2024-03-01T12:07:03Z"}]
    await harness.clock.advance(timedelta(hours=12))
    assert [call["at"] for call in service.calls] == [
        "2024-03-01T12:07:03Z",
        "2024-03-01T18:00:00Z",
        "2024-03-02T00:00:00Z",
    ]


async def test_a_failing_run_is_logged_and_reported_and_the_next_run_still_fires(
    run: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    class Service(Recorder):
        @tomodachi.schedule(interval=60)
        async def flaky(self, invocation_time: str) -> None:
            self.calls.append({"at": invocation_time})
            if len(self.calls) == 1:
                raise RuntimeError("first run fails")

    service = Service()
    caplog.set_level(logging.ERROR)
    harness = await run(service)
    await harness.clock.advance(180)
    assert [call["at"] for call in service.calls] == [
        "2024-03-01T12:01:00Z",
        "2024-03-01T12:02:00Z",
        "2024-03-01T12:03:00Z",
    ]
    assert len(harness.errors) == 1
    error, where = harness.errors[0]
    assert isinstance(error, RuntimeError) and where == "recorder.flaky"
    (record,) = [r for r in caplog.records if r.name == "tomodachi.schedule.handler"]
    assert record.levelno == logging.ERROR
    assert record.exc_info is not None and record.exc_info[1] is error  # logged with its traceback
    assert "first run fails" in record.getMessage()


async def test_a_required_parameter_that_cannot_be_injected_fails_the_start(run: Callable[..., Any]) -> None:
    class Service(Recorder):
        @tomodachi.schedule(interval=5)
        async def needs_more(self, invocation_time: str, customer_id: str) -> None:
            self.calls.append({})

    service = Service()
    with pytest.raises(HandlerSignatureError, match="parameter 'customer_id' of @tomodachi.schedule"):
        await run(service)
    assert service.calls == []


async def test_one_off_timestamp_fires_once(run: Callable[..., Any]) -> None:
    class Service(Recorder):
        @tomodachi.schedule(timestamp="2024-03-02 08:00:00", timezone="+01:00")
        async def once(self, invocation_time: str) -> None:
            self.calls.append({"at": invocation_time})

    service = Service()
    harness = await run(service)
    await harness.clock.advance(timedelta(days=30))
    assert service.calls == [{"at": "2024-03-02T07:00:00Z"}]


async def test_runs_overlap_but_not_beyond_the_unfinished_task_limit(
    run: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    release = asyncio.Event()

    class Service(Recorder):
        @tomodachi.heartbeat
        async def stuck(self, invocation_time: str) -> None:
            self.calls.append({"at": invocation_time})
            await release.wait()

    service = Service()
    harness = await run(service)
    await harness.clock.advance(30)
    assert len(service.calls) == MAX_UNFINISHED_TASKS
    release.set()
    await harness.clock.settle()
    await harness.clock.advance(2)
    assert len(service.calls) == MAX_UNFINISHED_TASKS + 2
    assert service.calls[-1] == {"at": "2024-03-01T12:00:32Z"}


async def test_stop_prevents_new_runs_and_awaits_running_ones(run: Callable[..., Any]) -> None:
    finished = asyncio.Event()
    clock_holder: list[VirtualClock] = []

    class Service(Recorder):
        @tomodachi.schedule(interval=10)
        async def work(self) -> None:
            self.calls.append({"started": datetime.now(UTC)})
            await clock_holder[0].sleep(5)
            finished.set()

    service = Service()
    harness = await run(service)
    clock_holder.append(harness.clock)
    await harness.clock.advance(10)
    assert len(service.calls) == 1 and not finished.is_set()
    stopping = asyncio.create_task(harness.transport.stop(30))
    await harness.clock.settle()
    assert not stopping.done()  # waiting for the running invocation
    await harness.clock.advance(5)
    assert finished.is_set()
    await asyncio.wait_for(stopping, timeout=5)
    await harness.clock.advance(60)
    assert len(service.calls) == 1  # no new runs after stop


async def test_stop_cancels_runs_still_going_after_the_grace_period(run: Callable[..., Any]) -> None:
    cancelled = asyncio.Event()

    class Service(Recorder):
        @tomodachi.schedule(interval=10)
        async def endless(self) -> None:
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                cancelled.set()
                raise

    harness = await run(Service())
    await harness.clock.advance(10)
    stopping = asyncio.create_task(harness.transport.stop(20))
    await harness.clock.advance(19)
    assert not stopping.done() and not cancelled.is_set()
    await harness.clock.advance(1)
    await asyncio.wait_for(stopping, timeout=5)
    assert cancelled.is_set()
    await harness.transport.stop(20)  # idempotent


async def test_invalid_schedule_fails_setup_naming_the_function() -> None:
    class Service(Recorder):
        async def broken(self) -> None: ...

    service = Service()
    handler = BoundHandler(
        name="broken",
        func=service.broken,
        spec=HandlerSpec("schedule", "schedule", {"interval": "every blue moon", "timestamp": None}),
    )
    transport = ScheduleTransport(
        TransportContext(
            service=service, options=None, environment=Environment(clock=VirtualClock(START)), handlers=(handler,)
        )  # type: ignore[arg-type]
    )
    with pytest.raises(InvalidScheduleError, match=r"Service\.broken.*Invalid interval 'every blue moon'"):
        await transport.setup()
    await transport.start()  # nothing half-starts
    await transport.stop(1)


async def test_execution_context_counters(run: Callable[..., Any]) -> None:
    execution_context._clear_execution_context()
    release = asyncio.Event()

    class Service(Recorder):
        @tomodachi.schedule(interval=5)
        async def job(self) -> None:
            await release.wait()

    harness = await run(Service())
    # the scheduler counts on its Environment; a container reports that Environment while its service runs
    report = harness.environment.execution
    execution_context.report_execution(report)
    try:
        assert execution_context.get_execution_context()["scheduled_functions_enabled"] is True
        await harness.clock.advance(10)
        values = execution_context.get_execution_context()
        assert values["scheduled_functions_current_tasks"] == 2
        assert values["scheduled_functions_total_tasks"] == 2
        release.set()
        await harness.clock.settle()
        assert execution_context.get_execution_context()["scheduled_functions_current_tasks"] == 0
    finally:
        execution_context.withdraw_execution_report(report, keep_values=False)
        execution_context._clear_execution_context()


async def test_runs_on_the_real_clock_too() -> None:
    fired = asyncio.Event()
    times: list[str] = []

    class Service(Recorder):
        @tomodachi.schedule(interval=0.02)
        async def quick(self, invocation_time: str) -> None:
            times.append(invocation_time)
            if len(times) == 3:
                fired.set()

        @tomodachi.schedule(interval=0.01)
        async def stuck(self) -> None:
            await asyncio.Event().wait()

    service = Service()
    handlers = tuple(
        BoundHandler(name, getattr(service, name), specs_of(getattr(Service, name))[0]) for name in ("quick", "stuck")
    )
    transport = create_transport(TransportContext(service, None, Environment(), handlers))  # type: ignore[arg-type]
    await transport.setup()
    await transport.start()
    await asyncio.wait_for(fired.wait(), timeout=5)
    loop = asyncio.get_running_loop()
    began = loop.time()
    await transport.stop(0.05)  # the stuck runs are cancelled after the grace period
    assert loop.time() - began < 2
    assert all(task.done() for job in transport._jobs for task in job.tasks)
