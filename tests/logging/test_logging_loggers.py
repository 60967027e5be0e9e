"""tomodachi.logging: Logger API (bind/new/levels/positional args), handler context, robustness."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import sys
from typing import Any

import pytest

import tomodachi
import tomodachi.logging as tlog


def _entries(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_public_names() -> None:
    assert tomodachi.get_logger is tlog.get_logger
    assert tomodachi.Logger is tlog.Logger
    logger = tomodachi.get_logger("tomodachi.lifecycle")
    assert isinstance(logger, tlog.Logger) and isinstance(logger, tomodachi.LoggerProtocol)
    assert logger.name == "tomodachi.lifecycle"


def test_levels_and_stdlib_api(stream: io.StringIO) -> None:
    logger = tlog.get_logger("app")
    logger.debug("d")
    logger.info("i")
    logger.warning("w")
    logger.error("e")
    logger.critical("c")
    logger.log(logging.WARNING, "via log")
    assert [(e["level"], e["message"]) for e in _entries(stream)] == [
        ("debug", "d"),
        ("info", "i"),
        ("warning", "w"),
        ("error", "e"),
        ("critical", "c"),
        ("warning", "via log"),
    ]
    assert logger.isEnabledFor(logging.DEBUG)


def test_level_filtering_uses_the_root_level(stream: io.StringIO) -> None:
    logging.getLogger().setLevel(logging.WARNING)
    logger = tlog.get_logger("app")
    logger.info("dropped")
    logger.warning("kept")
    assert [e["message"] for e in _entries(stream)] == ["kept"]


def test_bind_and_new(stream: io.StringIO) -> None:
    base = tlog.get_logger("app").bind(request_id="r1", user="u")
    base.info("one", extra_field=1)
    base.new(only="this").info("two")
    base.bind(user="v").info("three")
    one, two, three = _entries(stream)
    assert one["request_id"] == "r1" and one["user"] == "u" and one["extra_field"] == 1
    assert two["only"] == "this" and "request_id" not in two
    assert three["user"] == "v"


def test_positional_arguments_are_formatted_and_bad_ones_do_not_raise(stream: io.StringIO) -> None:
    logger = tlog.get_logger("app")
    logger.info("hello %s, you are %d", "ann", 42)
    logger.info("%(name)s!", {"name": "dict style"})
    logger.info("missing %s %s", "one")
    first, second, third = _entries(stream)
    assert first["message"] == "hello ann, you are 42"
    assert second["message"] == "dict style!"
    assert third["message"].startswith("missing %s %s")


def test_logging_never_raises_into_user_code(stream: io.StringIO, capsys: pytest.CaptureFixture[str]) -> None:
    class Broken:
        def __str__(self) -> str:
            raise RuntimeError("no str")

        def __repr__(self) -> str:
            raise RuntimeError("no repr")

    logger = tlog.get_logger("app")
    logger.info(Broken())  # type: ignore[arg-type]
    logger.info("field", value=Broken())
    entries = _entries(stream)
    assert len(entries) == 2 and entries[1]["message"] == "field"


def test_unnamed_logger_carries_the_handler_context(stream: io.StringIO) -> None:
    module_level_logger = tlog.get_logger()  # created before any handler runs
    with tlog.bind_handler_context("tomodachi.http.handler", handler="index", type="tomodachi.http"):
        tlog.get_logger().info("inside")
        module_level_logger.info("module level", handler_arg=1)
        with tlog.bind_handler_context("tomodachi.http.middleware", middleware="auth"):
            tlog.get_logger().info("middleware")
        tlog.get_logger("myapp").info("named loggers do not carry handler context")
    module_level_logger.info("outside")
    inside, module_level, middleware, named, outside = _entries(stream)
    assert inside["logger"] == "tomodachi.http.handler"
    assert (inside["handler"], inside["type"]) == ("index", "tomodachi.http")
    assert module_level["logger"] == "tomodachi.http.handler" and module_level["handler"] == "index"
    assert middleware["logger"] == "tomodachi.http.middleware"
    assert (middleware["handler"], middleware["middleware"]) == ("index", "auth")
    assert named["logger"] == "myapp" and "handler" not in named
    assert outside["logger"] == "default" and "handler" not in outside


def test_handler_context_precedence(stream: io.StringIO) -> None:
    with tlog.bind_handler_context(handler="h", type="t"):
        assert tlog.get_handler_context() == {"handler": "h", "type": "t"}
        tlog.get_logger().bind(type="bound").info("x", handler="call")
    [entry] = _entries(stream)
    assert entry["handler"] == "call" and entry["type"] == "bound"
    assert tlog.get_handler_context() == {}


async def test_handler_context_is_per_task(stream: io.StringIO) -> None:
    started = asyncio.Event()
    release = asyncio.Event()

    async def handler(name: str) -> None:
        with tlog.bind_handler_context("tomodachi.amqp.handler", handler=name, type="tomodachi.amqp"):
            if name == "first":
                started.set()
                await release.wait()
            else:
                await started.wait()
                tlog.get_logger().info("second logs")
                release.set()
                return
            tlog.get_logger().info("first logs")

    await asyncio.wait_for(asyncio.gather(handler("first"), handler("second")), timeout=5)
    second, first = [e for e in _entries(stream) if e["logger"] == "tomodachi.amqp.handler"]
    assert second["handler"] == "second" and first["handler"] == "first"


def test_structlog_contextvars_are_merged(stream: io.StringIO) -> None:
    import structlog

    structlog.contextvars.bind_contextvars(trace_id="abc")
    try:
        tlog.get_logger("app").info("traced")
    finally:
        structlog.contextvars.clear_contextvars()
    assert _entries(stream)[0]["trace_id"] == "abc"


def test_records_stay_readable_for_other_handlers(stream: io.StringIO) -> None:
    records: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    collector = Collect()
    logging.getLogger().addHandler(collector)
    try:
        tlog.get_logger("app").info("started", port=9700)
    finally:
        logging.getLogger().removeHandler(collector)
    assert records[0].getMessage() == "started port=9700"
    assert records[0].name == "app" and records[0].levelno == logging.INFO


@pytest.mark.skipif(sys.version_info < (3, 11), reason="stdlib findCaller() stacklevel semantics changed in 3.11")
def test_records_point_at_the_calling_code(stream: io.StringIO) -> None:
    records: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    collector = Collect()
    logging.getLogger().addHandler(collector)
    try:
        tlog.get_logger("app").info("named")
        with tlog.bind_handler_context(handler="h"):
            tlog.get_logger().bind(a=1).warning("context")
        try:
            raise ValueError("x")
        except ValueError:
            tlog.get_logger("app").exception("failed")
    finally:
        logging.getLogger().removeHandler(collector)
    assert {(record.filename, record.funcName) for record in records} == {
        ("test_logging_loggers.py", "test_records_point_at_the_calling_code")
    }
