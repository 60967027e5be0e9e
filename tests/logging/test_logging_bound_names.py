"""What a logger is bound to, as upstream's loggers behave: a bound ``logger`` is its name, a named logger starts
from what its name was last bound to in the task, and ``get_logger()`` outside any handler logs as ``default``."""

from __future__ import annotations

import asyncio
import io
import json
from typing import Any

import tomodachi.logging as tlog


def _entries(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_logger_without_a_name_outside_any_handler_is_the_default_logger(stream: io.StringIO) -> None:
    logger = tlog.get_logger()
    assert logger.name == "default"
    logger.info("nameless")
    assert _entries(stream)[0]["logger"] == "default"


def test_binding_logger_names_the_logger_and_is_not_a_field(stream: io.StringIO) -> None:
    base = tlog.get_logger("app")
    renamed = base.bind(logger="app.orders", order=17)
    assert (base.name, renamed.name) == ("app", "app.orders")
    renamed.info("placed")
    tlog.get_logger().bind(logger="app.nameless").info("named now")
    placed, named_now = _entries(stream)
    assert placed == {**placed, "logger": "app.orders", "order": 17} and "logger_" not in placed
    assert named_now["logger"] == "app.nameless"


def test_a_named_logger_starts_from_what_that_name_was_last_bound_to(stream: io.StringIO) -> None:
    tlog.get_logger("app").bind(request_id="r1")  # the bound logger itself is dropped
    tlog.get_logger("app").info("carries it")
    tlog.get_logger("app").bind(user="u").info("adds to it")
    tlog.get_logger("app").new(only="this").info("new starts over")
    tlog.get_logger("other").info("other names are untouched")
    carries, adds, new, other = _entries(stream)
    assert carries["request_id"] == "r1"
    assert (adds["request_id"], adds["user"]) == ("r1", "u")
    assert new["only"] == "this" and "request_id" not in new
    assert "request_id" not in other and "only" not in other


def test_what_a_logger_without_a_name_is_bound_to_is_not_remembered(stream: io.StringIO) -> None:
    tlog.get_logger().bind(request_id="r1").info("bound")
    tlog.get_logger().info("fresh")
    bound, fresh = _entries(stream)
    assert bound["request_id"] == "r1" and "request_id" not in fresh


def test_reset_context_forgets_what_names_were_bound_to(stream: io.StringIO) -> None:
    tlog.get_logger("app").bind(request_id="r1")
    tlog.reset_context()
    tlog.get_logger("app").info("after reset")
    assert "request_id" not in _entries(stream)[0]


async def test_bindings_made_in_a_task_stay_in_that_task(stream: io.StringIO) -> None:
    tlog.get_logger("app").bind(stage="before")
    task_bound = asyncio.Event()
    release = asyncio.Event()

    async def task() -> None:
        tlog.get_logger("app").info("task inherits")
        tlog.get_logger("app").bind(stage="task")
        task_bound.set()
        await release.wait()
        tlog.get_logger("app").info("task keeps its own")

    running = asyncio.create_task(task())
    await task_bound.wait()
    tlog.get_logger("app").info("creator unaffected")
    tlog.get_logger("app").bind(stage="creator")
    release.set()
    await running
    stages = {entry["message"]: entry["stage"] for entry in _entries(stream) if entry["logger"] == "app"}
    assert stages == {"task inherits": "before", "creator unaffected": "before", "task keeps its own": "task"}


def test_the_frameworks_own_lines_carry_what_their_name_was_bound_to(stream: io.StringIO) -> None:
    tlog.get_logger("tomodachi.lifecycle").bind(deployment="blue")
    tlog.framework_logger("tomodachi.lifecycle").info("started service successfully", deployment_slot=2)
    tlog.framework_logger("tomodachi.http").info("other names are untouched")
    lifecycle, http = _entries(stream)
    assert (lifecycle["deployment"], lifecycle["deployment_slot"]) == ("blue", 2) and "logger_" not in lifecycle
    assert "deployment" not in http
