"""Lines a lifecycle hook logs itself (``get_logger()`` without a name, ``self.log()``) are the hook's, as upstream
logs them: logger ``tomodachi.lifecycle.handler``, with the hook's name and lifecycle event."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

import tomodachi
import tomodachi.logging as tlog

HOOKS = {
    "_start_service": "lifecycle.setup",
    "_started_service": "lifecycle.initialized",
    "_stopping_service": "lifecycle.interrupt",
    "_stop_service": "lifecycle.teardown",
}


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def captured() -> Iterator[Capture]:
    handler = Capture()
    hook_logger = logging.getLogger("tomodachi.lifecycle.handler")
    hook_logger.addHandler(handler)
    hook_logger.setLevel(logging.INFO)
    yield handler
    hook_logger.removeHandler(handler)
    hook_logger.setLevel(logging.NOTSET)


class HookService(tomodachi.Service):
    name = "hook-logging"

    async def _start_service(self) -> None:
        tlog.get_logger().info("from _start_service")

    async def _started_service(self) -> None:
        with pytest.warns(DeprecationWarning):
            self.log("from _started_service")

    async def _stopping_service(self) -> None:
        tlog.get_logger().info("from _stopping_service")

    async def _stop_service(self) -> None:
        tlog.get_logger().info("from _stop_service")


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    assert isinstance(record.msg, tlog._StructuredMessage)
    return dict(record.msg.fields)


async def test_each_hook_logs_as_the_lifecycle_handler_with_its_name_and_event(
    tomodachi_service: Any, captured: Capture
) -> None:
    service = await tomodachi_service(HookService)
    await service.stop()
    assert [(record.name, _fields(record)) for record in captured.records] == [
        (
            "tomodachi.lifecycle.handler",
            {"event": f"from {hook}", "handler": hook, "type": "tomodachi.event", "event_": event},
        )
        for hook, event in HOOKS.items()
    ]
