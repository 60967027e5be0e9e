"""The messaging layer's own log lines render as ``message key=value`` like the rest of the framework's, never with a
raw ``extra={...}`` dict."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from amqp_rig import PlainService, Rig

import tomodachi.logging as tlog
from tomodachi.envelope import JsonBase
from tomodachi.messaging.amqp.api import amqp


@pytest.fixture
def rendered() -> Iterator[io.StringIO]:
    """Logging configured as ``tomodachi run`` does (console lines, no colors), into a buffer."""
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    stream = io.StringIO()
    tlog.configure("debug", "no_color_console", stream=stream)
    try:
        yield stream
    finally:
        tlog.remove_handlers()
        tlog.set_default_formatter("console")
        root.setLevel(level)
        for handler in handlers:
            if handler not in root.handlers:
                root.addHandler(handler)


class Failing(PlainService):
    name = "failing"
    message_envelope = JsonBase

    @amqp("logged.work", max_receive_count=2)
    async def handler(self, data: Any) -> None:
        raise RuntimeError("cannot handle")


def _lines(stream: io.StringIO, text: str) -> list[str]:
    return [line for line in stream.getvalue().splitlines() if text in line]


async def test_pipeline_lines_carry_their_fields_as_key_value_pairs(rig: Rig, rendered: io.StringIO) -> None:
    await rig.start(Failing())
    await rig.publish("logged.work", {"n": 1}, envelope=JsonBase)
    await rig.fake.settle()
    await rig.clock.advance(1)
    await rig.fake.settle()
    rig.fake.take_dead_letters()

    [retried] = _lines(rendered, "message will be retried")
    assert "[tomodachi.amqp.handler]" in retried
    assert "handler=handler" in retried and "attempt=1" in retried and "delay=1.0" in retried
    [dead] = _lines(rendered, "message dead-lettered")
    assert "attempts=2" in dead
    assert len(_lines(rendered, "uncaught exception: cannot handle")) == 2
    assert "extra=" not in rendered.getvalue()


class Blocked(PlainService):
    name = "blocked"
    message_envelope = JsonBase

    def __init__(self) -> None:
        super().__init__()
        self.started = asyncio.Event()

    @amqp("logged.blocked")
    async def handler(self, data: Any) -> None:
        self.started.set()
        await asyncio.Event().wait()


async def test_stop_lines_carry_their_fields_as_key_value_pairs(rig: Rig, rendered: io.StringIO) -> None:
    service = Blocked()
    transport = await rig.start(service)
    await rig.publish("logged.blocked", {"n": 1}, envelope=JsonBase)
    await service.started.wait()
    await transport.stop(0)  # no grace: the running handler is cut off and its message handed back

    [awaiting] = _lines(rendered, "awaiting running tasks")
    assert awaiting.endswith("[tomodachi.amqp] tasks=1")
    [cut_off] = _lines(rendered, "did not finish within the grace period")
    assert cut_off.endswith("count=1")
    assert "extra=" not in rendered.getvalue()
