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
