"""Execution-context counters a test's services bump do not carry over into the next test."""

from __future__ import annotations

from typing import Any

import tomodachi
from tomodachi.runtime import context as execution_context
from tomodachi.testing.harness import ServiceHarness


class Counting(tomodachi.Service):
    name = "review-counting"

    async def _start_service(self) -> None:
        execution_context.increase_execution_context_value("review_total_tasks")


async def test_each_test_starts_from_the_same_execution_context(virtual_clock: Any) -> None:
    before = dict(tomodachi.get_execution_context())
    for _ in range(2):
        harness = ServiceHarness(virtual_clock)
        try:
            await harness.start(Counting)
            assert tomodachi.get_execution_context()["review_total_tasks"] == 1
        finally:
            await harness.stop_all()
        assert tomodachi.get_execution_context() == before
