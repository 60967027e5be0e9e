"""The message pipeline counts its tasks on the Environment of its services, not in process-wide state: two tests'
environments never mix, and ``tomodachi.get_execution_context()`` still reports upstream's keys while they run."""

from __future__ import annotations

from typing import Any

import tomodachi
from tomodachi.envelope import JsonBase
from tomodachi.testing.clock import VirtualClock
from tomodachi.testing.harness import ServiceHarness


class Counting(tomodachi.Service):
    name = "counting"
    message_envelope = JsonBase

    def __init__(self) -> None:
        self.seen: list[Any] = []

    @tomodachi.amqp("counted.work")
    async def handler(self, data: Any) -> None:
        self.seen.append(data)


async def test_each_environment_counts_the_tasks_of_its_own_services(virtual_clock: VirtualClock) -> None:
    first, second = ServiceHarness(virtual_clock), ServiceHarness(virtual_clock)
    try:
        await first.start(Counting)
        await second.start(Counting)
        for n in range(3):
            await first.fake("amqp").publish("counted.work", {"n": n})
        await second.fake("amqp").publish("counted.work", {"n": 9})
        await first.settle()
        await second.settle()
        first_tasks = first.environment.execution.counter("amqp")
        second_tasks = second.environment.execution.counter("amqp")
        assert (first_tasks.total, first_tasks.current) == (3, 0)
        assert (second_tasks.total, second_tasks.current) == (1, 0)
    finally:
        await second.stop_all()
        await first.stop_all()


async def test_the_execution_context_reports_the_running_services_counters_until_their_test_ends(
    virtual_clock: VirtualClock,
) -> None:
    before = dict(tomodachi.get_execution_context())
    harness = ServiceHarness(virtual_clock)
    try:
        await harness.start(Counting)
        await harness.fake("amqp").publish("counted.work", {"n": 1})
        await harness.fake("amqp").publish("counted.work", {"n": 2})
        await harness.settle()
        context = tomodachi.get_execution_context()
        assert context["amqp_enabled"] is True
        assert (context["amqp_total_tasks"], context["amqp_current_tasks"]) == (2, 0)
        assert "aioamqp_version" in context
    finally:
        await harness.stop_all()
    assert tomodachi.get_execution_context() == before


class Busy(tomodachi.Service):
    name = "busy"

    @tomodachi.http("GET", r"/ping")
    async def ping(self, request: Any) -> str:
        return "pong"

    @tomodachi.schedule(interval=60)
    async def tick(self) -> None:
        pass


async def test_http_requests_and_scheduled_runs_are_counted_on_the_environment_too(
    virtual_clock: VirtualClock,
) -> None:
    before = dict(tomodachi.get_execution_context())
    harness = ServiceHarness(virtual_clock)
    try:
        handle = await harness.start(Busy)
        for _ in range(2):
            response = await handle.http.get("/ping")
            assert await response.text() == "pong"
        await virtual_clock.advance(60)
        await harness.settle()
        http_tasks = harness.environment.execution.counter("http")
        scheduled = harness.environment.execution.counter("scheduled_functions")
        assert (http_tasks.total, http_tasks.current) == (2, 0)
        assert (scheduled.total, scheduled.current) == (1, 0)
        context = tomodachi.get_execution_context()
        assert context["http_enabled"] is True and context["scheduled_functions_enabled"] is True
        assert (context["http_total_tasks"], context["scheduled_functions_total_tasks"]) == (2, 1)
    finally:
        await harness.stop_all()
    assert tomodachi.get_execution_context() == before
