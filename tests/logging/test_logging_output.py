"""tomodachi.logging: formatters (json, console, python, disabled), stdlib records, configure(), handler context."""

from __future__ import annotations

import datetime
import io
import json
import logging
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

import tomodachi.logging as tlog


@pytest.fixture(autouse=True)
def _restore_root_logging() -> Iterator[None]:
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    yield
    tlog.remove_handlers()
    tlog.set_default_formatter("console")
    root.setLevel(level)
    for handler in handlers:
        if handler not in root.handlers:
            root.addHandler(handler)


def _json_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_lines_have_core_keys_in_order_then_fields() -> None:
    stream = io.StringIO()
    tlog.configure("info", "json", stream=stream)
    tlog.get_logger("tomodachi.lifecycle").info("started service successfully", state="ready", count=2)
    [entry] = _json_lines(stream)
    assert list(entry)[:4] == ["timestamp", "logger", "level", "message"]
    assert entry["logger"] == "tomodachi.lifecycle"
    assert entry["level"] == "info"
    assert entry["message"] == "started service successfully"
    assert entry["state"] == "ready" and entry["count"] == 2
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", entry["timestamp"])
    logged = datetime.datetime.strptime(entry["timestamp"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc
    )
    assert abs((datetime.datetime.now(datetime.timezone.utc) - logged).total_seconds()) < 60


def test_json_renames_and_drops_ellipsis() -> None:
    stream = io.StringIO()
    tlog.configure("info", "json", stream=stream)
    tlog.get_logger("x").info("m", event_="lifecycle.ready", class_="Service", hidden=..., level="user level")
    [entry] = _json_lines(stream)
    assert entry["event"] == "lifecycle.ready" and entry["class"] == "Service"
    assert "hidden" not in entry
    # a field named like a core key never overwrites it
    assert entry["level"] == "info" and entry["level_"] == "user level"


def test_json_exceptions_add_exception_fields() -> None:
    stream = io.StringIO()
    tlog.configure("info", "json", stream=stream)
    try:
        raise KeyError("missing")
    except KeyError:
        tlog.get_logger("tomodachi").exception("uncaught exception: 'missing'")
    [entry] = _json_lines(stream)
    assert entry["level"] == "error"
    assert entry["exc_type"] == "KeyError" and entry["exc_message"] == "'missing'"
    assert "Traceback (most recent call last)" in entry["exception"] and "KeyError" in entry["exception"]
    assert isinstance(entry["stacktrace"], list) and entry["stacktrace"]
    assert entry["stacktrace"][-1].endswith("in test_json_exceptions_add_exception_fields")
    assert entry["tb_function_name"] == "test_json_exceptions_add_exception_fields"
    assert entry["tb_module_name"].endswith("test_logging_output")
    assert entry["tb_location"].startswith(__file__)


def test_json_exc_info_accepts_an_exception_instance() -> None:
    stream = io.StringIO()
    tlog.configure("info", "json", stream=stream)
    tlog.get_logger("x").error("failed", exc_info=ValueError("bad"))
    [entry] = _json_lines(stream)
    assert entry["exc_type"] == "ValueError" and entry["exc_message"] == "bad"


def test_json_never_raises_for_unserialisable_values() -> None:
    class Odd:
        def __repr__(self) -> str:
            return "<Odd>"

    stream = io.StringIO()
    tlog.configure("info", "json", stream=stream)
    ident = uuid.UUID(int=1)
    moment = datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
    tlog.get_logger("x").info("values", odd=Odd(), ident=ident, moment=moment, raw=b"hi", tags={"a"})
    tlog.get_logger("x").info("bad keys", mapping={(1, 2): "tuple key"})
    first, second = _json_lines(stream)
    assert first["odd"] == "<Odd>" and first["ident"] == str(ident) and first["moment"] == moment.isoformat()
    assert first["raw"] == "hi" and first["tags"] == ["a"]
    assert second["message"] == "bad keys" and "tuple key" in second["mapping"]


def test_stdlib_records_render_through_the_same_formatter_with_extras() -> None:
    stream = io.StringIO()
    tlog.configure("info", "json", stream=stream)
    logging.getLogger("aiohttp.access").info("GET %s %d", "/health", 200, extra={"remote": "127.0.0.1"})
    logging.getLogger("aiohttp.server").warning("plain")
    first, second = _json_lines(stream)
    assert first["logger"] == "aiohttp.access" and first["message"] == "GET /health 200"
    assert first["extra"] == {"remote": "127.0.0.1"} and first["level"] == "info"
    assert second == {**second, "logger": "aiohttp.server", "level": "warning", "message": "plain"}
    assert "extra" not in second


def test_stdlib_exceptions_render_exception_fields() -> None:
    stream = io.StringIO()
    tlog.configure("info", "json", stream=stream)
    try:
        1 / 0  # noqa: B018
    except ZeroDivisionError:
        logging.getLogger("asyncio").exception("task failed")
    [entry] = _json_lines(stream)
    assert entry["exc_type"] == "ZeroDivisionError" and entry["message"] == "task failed"


def test_console_line_format_without_colors() -> None:
    stream = io.StringIO()
    tlog.configure("info", "console", stream=stream)  # a StringIO is no tty: no colors
    tlog.get_logger("tomodachi.lifecycle").info("started service successfully", service="svc", note="two words")
    line = stream.getvalue().rstrip("\n")
    assert "\x1b[" not in line
    match = re.fullmatch(r"(\S+) \[(.{9})\] (.{30}) \[(\S+)\] (.*)", line)
    assert match, line
    timestamp, level, message, logger, fields = match.groups()
    assert timestamp.endswith("Z") and level == "info     "
    assert message == "started service successfully  "
    assert logger == "tomodachi.lifecycle"
    assert fields == "service=svc note='two words'"


def test_console_colors_when_forced_and_not_when_disabled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLICOLOR_FORCE", "1")
    for name in ("NO_COLOR", "NOCOLOR", "TOMODACHI_NO_COLOR", "TOMODACHI_NOCOLOR", "CLICOLOR", "CLI_COLOR"):
        monkeypatch.delenv(name, raising=False)
    stream = io.StringIO()
    tlog.configure("info", "console", stream=stream)
    tlog.get_logger("x").warning("colored")
    assert "\x1b[" in stream.getvalue()

    monkeypatch.setenv("TOMODACHI_NO_COLOR", "true")
    assert not tlog.colors_enabled(stream)
    monkeypatch.delenv("TOMODACHI_NO_COLOR")
    monkeypatch.setenv("CLICOLOR", "0")
    assert not tlog.colors_enabled(stream)

    stream = io.StringIO()
    tlog.configure("info", "no_color_console", stream=stream)
    monkeypatch.delenv("CLICOLOR")
    tlog.get_logger("x").warning("plain")
    assert "\x1b[" not in stream.getvalue()


def test_console_appends_tracebacks() -> None:
    stream = io.StringIO()
    tlog.configure("info", "console", stream=stream)
    try:
        raise RuntimeError("kaput")
    except RuntimeError:
        tlog.get_logger("x").exception("failed")
    lines = stream.getvalue().splitlines()
    assert "failed" in lines[0] and lines[1] == "Traceback (most recent call last):"
    assert lines[-1] == "RuntimeError: kaput"


def test_python_formatter_uses_the_stdlib_format() -> None:
    stream = io.StringIO()
    tlog.configure("info", "python", stream=stream)
    tlog.get_logger("tomodachi.http").info("accepting http requests", listen_port=9700)
    line = stream.getvalue().rstrip("\n")
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} \[INFO     \] accepting http requests listen_port=9700 \[tomodachi.http\]",
        line,
    ), line


def test_disabled_formatter_prints_nothing() -> None:
    stream = io.StringIO()
    tlog.configure("debug", "disabled", stream=stream)
    tlog.get_logger("x").error("quiet")
    logging.getLogger("y").error("quiet too")
    assert stream.getvalue() == ""


def test_configure_is_idempotent_and_replaces_its_handler() -> None:
    first, second = io.StringIO(), io.StringIO()
    tlog.configure("info", "json", stream=first)
    handler = tlog.configure("warning", "json", stream=second)
    ours = [h for h in logging.getLogger().handlers if isinstance(h, type(handler))]
    assert ours == [handler]
    assert logging.getLogger().level == logging.WARNING
    tlog.get_logger("x").info("filtered out")
    tlog.get_logger("x").warning("kept")
    assert first.getvalue() == ""
    assert [entry["message"] for entry in _json_lines(second)] == ["kept"]


def test_configure_leaves_foreign_handlers_and_remove_handlers_only_removes_ours() -> None:
    foreign = logging.NullHandler()
    logging.getLogger().addHandler(foreign)
    try:
        tlog.configure("info", "json", stream=io.StringIO())
        tlog.configure("info", "json", stream=io.StringIO())
        assert foreign in logging.getLogger().handlers
        tlog.remove_handlers()
        assert foreign in logging.getLogger().handlers
        assert not [h for h in logging.getLogger().handlers if h.__class__.__name__ == "_RootHandler"]
    finally:
        logging.getLogger().removeHandler(foreign)


def test_configure_rejects_bad_levels_and_formatters() -> None:
    with pytest.raises(ValueError, match="invalid log level 'loud'"):
        tlog.configure("loud")
    with pytest.raises(ValueError, match="invalid log formatter 'xml'"):
        tlog.configure("info", "xml")
    with pytest.raises(ValueError, match="invalid log formatter"):
        tlog.set_default_formatter("xml")


@pytest.mark.parametrize(("level", "expected"), [("DEBUG", 10), ("warn", 30), ("critical", 50), (20, 20), ("40", 40)])
def test_configure_level_spellings(level: str | int, expected: int) -> None:
    tlog.configure(level, stream=io.StringIO())
    assert logging.getLogger().level == expected


def test_default_handler_follows_redirected_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    tlog.configure("info", "json")
    tlog.get_logger("tomodachi.lifecycle").info("terminated service")
    err = capsys.readouterr().err
    assert json.loads(err.splitlines()[-1])["message"] == "terminated service"


def test_set_default_formatter_switches_the_installed_handler_and_later_configures() -> None:
    stream = io.StringIO()
    tlog.configure("info", "console", stream=stream)
    tlog.set_default_formatter("json")
    tlog.get_logger("x").info("now json")
    assert _json_lines(stream)[0]["message"] == "now json"
    other = io.StringIO()
    tlog.configure("info", stream=other)
    tlog.get_logger("x").info("still json")
    assert _json_lines(other)[0]["message"] == "still json"
    tlog.set_default_formatter(tlog.PythonLoggingFormatter)
    tlog.get_logger("x").info("python now")
    assert "[INFO     ] python now" in other.getvalue()
