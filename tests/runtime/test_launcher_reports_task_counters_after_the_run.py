"""A run's message task counters, kept on its Environment, stay readable in the execution context after it ended."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

import tomodachi
from tomodachi.runtime import context as execution_context
from tomodachi.runtime.launcher import Launcher, run_launcher

SERVICE = """
import tomodachi


class Echo(tomodachi.Service):
    name = "echo"

    @tomodachi.amqp("echo.once")
    async def once(self, data):
        tomodachi.exit(0)

    async def _started_service(self):
        await tomodachi.amqp_publish(self, "ping", routing_key="echo.once")
"""


@pytest.fixture(autouse=True)
def clean_execution_context() -> Iterator[None]:
    execution_context._clear_execution_context()
    yield
    execution_context._clear_execution_context()


def test_the_counters_of_a_finished_run_stay_in_the_execution_context(tmp_path: Path) -> None:
    path = tmp_path / "echo_service.py"
    path.write_text(textwrap.dedent(SERVICE))
    assert run_launcher(Launcher([str(path)], brokers={"amqp": "memory"})) == 0
    context = tomodachi.get_execution_context()
    assert context["amqp_enabled"] is True
    assert (context["amqp_total_tasks"], context["amqp_current_tasks"]) == (1, 0)
