"""``framework_logger``: the framework's own lines make the same records as ``get_logger`` without structlog."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

import tomodachi.logging as tlog


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def capture() -> Iterator[Capture]:
    root = logging.getLogger()
    level = root.level
    handler = Capture()
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield handler
    root.removeHandler(handler)
    root.setLevel(level)


def _summary(record: logging.LogRecord) -> tuple[Any, ...]:
    fields = dict(record.msg.fields) if isinstance(record.msg, tlog._StructuredMessage) else None
    exc = record.exc_info[0] if record.exc_info else None
    return (record.name, record.levelno, fields, exc, record.pathname, record.funcName)


def _log_both(method: str, *args: Any, **kw: Any) -> None:
    getattr(tlog.get_logger("tomodachi.lifecycle"), method)(*args, **kw)
    getattr(tlog.framework_logger("tomodachi.lifecycle"), method)(*args, **kw)


@pytest.mark.parametrize(
    ("method", "args", "kw"),
    [
        ("info", ("started service",), {"service": "s", "state": "ready"}),
        ("warning", ("%s and %s", "a", "b"), {"n": 1}),
        ("debug", ("d",), {}),
        ("critical", (), {"only": "fields"}),
        ("error", ("e",), {"exc_info": False}),
    ],
)
def test_same_records_as_get_logger(capture: Capture, method: str, args: tuple[Any, ...], kw: dict[str, Any]) -> None:
    _log_both(method, *args, **kw)
    first, second = capture.records
    assert _summary(first) == _summary(second)
    assert first.funcName == "_log_both" and first.pathname == __file__  # the caller, not logging internals


def test_exception_records_match(capture: Capture) -> None:
    try:
        raise KeyError("k")
    except KeyError:
        _log_both("exception", "uncaught exception: 'k'", stage="start")
    first, second = capture.records
    assert _summary(first) == _summary(second)
    assert first.exc_info is not None and second.exc_info is not None
    assert first.exc_info[1] is second.exc_info[1]


def test_level_check_and_json_output() -> None:
    out = io.StringIO()
    root = logging.getLogger()
    level = root.level
    try:
        tlog.configure("warning", "json", stream=out)
        tlog.framework_logger("tomodachi.http").info("hidden")
        tlog.framework_logger("tomodachi.http").warning("shown", listen_port=80, dropped=...)
    finally:
        tlog.remove_handlers()
        root.setLevel(level)
    (entry,) = [json.loads(line) for line in out.getvalue().splitlines()]
    assert {k: entry[k] for k in ("logger", "level", "message", "listen_port")} == {
        "logger": "tomodachi.http",
        "level": "warning",
        "message": "shown",
        "listen_port": 80,
    }
    assert "dropped" not in entry


def test_structlog_contextvars_are_merged_when_structlog_is_in_use(capture: Capture) -> None:
    import structlog

    structlog.contextvars.bind_contextvars(trace_id="abc")
    try:
        tlog.framework_logger("tomodachi.http").info("with context", k=1)
    finally:
        structlog.contextvars.clear_contextvars()
    message = capture.records[0].msg
    assert isinstance(message, tlog._StructuredMessage)
    assert message.fields == {"k": 1, "event": "with context", "trace_id": "abc"}


def test_logging_failures_are_reported_not_raised(capture: Capture, capsys: pytest.CaptureFixture[str]) -> None:
    tlog.framework_logger("tomodachi.http").info("%d", "not a number")  # falls back, never raises
    message = capture.records[0].msg
    assert isinstance(message, tlog._StructuredMessage) and message.fields["event"].startswith("%d")


def test_starting_the_logging_setup_does_not_import_structlog() -> None:
    code = (
        "import sys, tomodachi.logging as t; t.configure('info', 'json'); "
        "t.framework_logger('tomodachi.lifecycle').info('x', a=1); "
        "import tomodachi.cli, tomodachi.runtime.launcher, tomodachi.transport.http.transport; "
        "print('structlog' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=True)
    assert result.stdout.strip() == "False"
    assert '"message": "x"' in result.stderr
