"""``configure(formatter="custom")``: records forwarded to the application's logger."""

from __future__ import annotations

import io
import logging
import re
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import tomodachi.logging as tlog

Call = tuple[str, str, str, dict[str, Any]]  # (logger name, method, message, fields without the timestamp)


def _without_timestamp(fields: dict[str, Any]) -> dict[str, Any]:
    """The keywords a custom logger got, less ``timestamp`` (checked here: the record's time, UTC ISO with µs)."""
    timestamp = fields.pop("timestamp")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", timestamp), timestamp
    return fields


class Recorder:
    """A class-kind custom logger: called with the context, then ``<level>(message, **fields)``."""

    calls: list[Call] = []

    def __init__(self, context: dict[str, Any]) -> None:
        self.name = context["logger"]

    def __getattr__(self, method: str) -> Any:
        def log(message: str, **fields: Any) -> None:
            Recorder.calls.append((self.name, method, message, _without_timestamp(fields)))

        return log


class BoundRecorder:
    """An object with ``new()`` / ``bind()`` (structlog-like)."""

    def __init__(self, calls: list[Call], context: dict[str, Any] | None = None) -> None:
        self.calls = calls
        self.context = context or {}

    def new(self, **context: Any) -> BoundRecorder:
        return BoundRecorder(self.calls, context)

    def info(self, message: str, **fields: Any) -> None:
        self.calls.append((self.context["logger"], "info", message, _without_timestamp(fields)))

    def error(self, message: str, **fields: Any) -> None:
        self.calls.append((self.context["logger"], "error", message, _without_timestamp(fields)))


class Factory:
    def __init__(self, calls: list[Call]) -> None:
        self.calls = calls

    def get_logger(self) -> BoundRecorder:
        return BoundRecorder(self.calls)


@pytest.fixture(autouse=True)
def restore() -> Iterator[None]:
    root = logging.getLogger()
    level = root.level
    Recorder.calls = []
    yield
    tlog.remove_handlers()
    tlog.set_custom_logger(None)
    root.setLevel(level)


@pytest.fixture
def module_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in [n for n in sys.modules if n.startswith("custom_log_")]:
        del sys.modules[name]


def test_class_gets_the_logger_name_and_the_call_gets_message_and_fields() -> None:
    tlog.set_custom_logger(Recorder)
    tlog.configure("info", "custom")
    tlog.framework_logger("tomodachi.lifecycle").info("started service", service="s", state="ready", x=...)
    tlog.get_logger("app").warning("careful %s", "now", n=1)
    logging.getLogger("aiohttp.access").info("plain %d", 7, extra={"peer": "1.2.3.4"})
    tlog.get_logger("app").debug("below the level")
    assert Recorder.calls == [
        (
            "tomodachi.lifecycle",
            "info",
            "started service",
            {"logger": "tomodachi.lifecycle", "service": "s", "state": "ready"},
        ),
        ("app", "warning", "careful now", {"logger": "app", "n": 1}),
        ("aiohttp.access", "info", "plain 7", {"logger": "aiohttp.access", "extra": {"peer": "1.2.3.4"}}),
    ]


def test_the_call_gets_the_logger_name_first_and_the_timestamp_last() -> None:
    received: list[tuple[str, dict[str, Any]]] = []

    class Keywords:
        def __init__(self, context: dict[str, Any]) -> None:
            pass

        def info(self, message: str, **fields: Any) -> None:
            received.append((message, fields))

    tlog.set_custom_logger(Keywords)
    tlog.configure("info", "custom")
    tlog.get_logger("app").info("ordered", b=1, a=2)
    logging.getLogger("lib").info("stdlib", extra={"peer": "p"})
    (first_message, first), (second_message, second) = received
    assert (first_message, list(first)) == ("ordered", ["logger", "b", "a", "timestamp"])
    assert (second_message, list(second)) == ("stdlib", ["logger", "extra", "timestamp"])
    assert first["logger"] == "app" and second["logger"] == "lib" and second["extra"] == {"peer": "p"}


def test_new_bind_and_get_logger_objects() -> None:
    calls: list[Call] = []
    tlog.set_custom_logger(BoundRecorder(calls))
    tlog.configure("info", "custom")
    tlog.get_logger("a").info("one", k=1)
    tlog.set_custom_logger(Factory(calls))
    tlog.get_logger("b").info("two")
    assert calls == [("a", "info", "one", {"logger": "a", "k": 1}), ("b", "info", "two", {"logger": "b"})]


def test_exceptions_are_passed_as_exc_info() -> None:
    calls: list[Call] = []
    tlog.set_custom_logger(BoundRecorder(calls))
    tlog.configure("info", "custom")
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        tlog.get_logger("a").exception("failed", item=3)
    (name, method, message, fields) = calls[0]
    assert (name, method, message, fields["item"]) == ("a", "error", "failed", 3)
    assert fields["exc_info"][0] is RuntimeError


def test_logging_module_leaves_records_to_the_applications_handlers() -> None:
    out = io.StringIO()
    own = logging.StreamHandler(out)
    own.setFormatter(logging.Formatter("%(name)s %(message)s"))
    logging.getLogger().addHandler(own)
    try:
        tlog.set_custom_logger("logging")
        tlog.configure("info", "custom", stream=io.StringIO())
        tlog.get_logger("app").info("hello", k=1)
    finally:
        logging.getLogger().removeHandler(own)
    assert out.getvalue() == "app hello k=1\n"


def test_custom_logger_writing_to_stdlib_logging_does_not_loop() -> None:
    out = io.StringIO()

    class ToStdlib:
        def __init__(self, context: dict[str, Any]) -> None:
            self.logger = logging.getLogger("forwarded." + context["logger"])

        def info(self, message: str, **fields: Any) -> None:
            self.logger.info(message)

    own = logging.StreamHandler(out)
    logging.getLogger().addHandler(own)
    try:
        tlog.set_custom_logger(ToStdlib)
        tlog.configure("info", "custom")
        tlog.get_logger("app").info("once")
    finally:
        logging.getLogger().removeHandler(own)
    # the application's handler sees the original record and the forwarded one, each exactly once
    assert out.getvalue().splitlines() == ["once", "once"]


def test_a_failing_custom_logger_is_reported_not_raised(capsys: pytest.CaptureFixture[str]) -> None:
    class Broken:
        def __init__(self, context: dict[str, Any]) -> None:
            raise RuntimeError("custom logger is broken")

    tlog.set_custom_logger(Broken)
    tlog.configure("info", "custom")
    tlog.get_logger("app").info("still running")
    assert "custom logger is broken" in capsys.readouterr().err


def test_import_paths(module_dir: Path) -> None:
    (module_dir / "custom_log_mod.py").write_text(
        textwrap.dedent(
            """
            class Logger:
                def __init__(self, context):
                    pass

            class Holder:
                def bind(self, **context):
                    return self

            holder = Holder()
            not_a_logger = 42
            """
        )
    )
    (module_dir / "custom_log_pkg").mkdir()
    (module_dir / "custom_log_pkg" / "__init__.py").write_text("")
    (module_dir / "custom_log_pkg" / "sub.py").write_text("def get_logger():\n    return None\n")
    mod = tlog.resolve_custom_logger("custom_log_mod.Logger")
    assert isinstance(mod, type) and mod.__name__ == "Logger"
    assert tlog.resolve_custom_logger("custom_log_mod.holder") is sys.modules["custom_log_mod"].holder
    assert tlog.resolve_custom_logger("custom_log_pkg.sub") is sys.modules["custom_log_pkg.sub"]
    assert tlog.resolve_custom_logger("logging") is logging


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("custom_log_missing", "no module named 'custom_log_missing'"),
        ("custom_log_missing.logger", "no module named 'custom_log_missing'"),
        ("custom_log_bad.nope", "module 'custom_log_bad' has no attribute 'nope'"),
        ("custom_log_bad.value", "expected the logging module, a class, or an object with new()"),
        ("custom_log_broken", "ZeroDivisionError"),
        ("custom_log_imports", "No module named 'custom_log_not_there'"),
        ("not a path", "expected an import path"),
        ("", "expected an import path"),
    ],
)
def test_bad_custom_loggers_raise_a_clear_error(module_dir: Path, path: str, message: str) -> None:
    (module_dir / "custom_log_bad.py").write_text("value = 42\n")
    (module_dir / "custom_log_broken.py").write_text("1 / 0\n")
    (module_dir / "custom_log_imports.py").write_text("import custom_log_not_there\n")
    with pytest.raises(tlog.CustomLoggerError, match="custom logger") as info:
        tlog.resolve_custom_logger(path)
    assert message in str(info.value)
    assert isinstance(info.value, ValueError)


def test_custom_without_a_logger_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TOMODACHI_CUSTOM_LOGGER", raising=False)
    with pytest.raises(ValueError, match="no custom logger set"):
        tlog.configure("info", "custom")


def test_environment_variable_names_the_custom_logger(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOMODACHI_CUSTOM_LOGGER", f"{__name__}.Recorder")
    tlog.configure("info", "custom")
    tlog.get_logger("app").info("from env")
    assert Recorder.calls == [("app", "info", "from env", {"logger": "app"})]


def test_tomodachi_logging_itself_falls_back_to_the_console() -> None:
    out = io.StringIO()
    tlog.set_custom_logger("tomodachi.logging")
    tlog.configure("info", "custom", stream=out)
    tlog.get_logger("app").info("plain console")
    assert "plain console" in out.getvalue() and "[app]" in out.getvalue()


def test_custom_logger_formatter_on_another_handler_renders_console_lines() -> None:
    record = logging.LogRecord("app", logging.INFO, __file__, 1, "hello", (), None)
    assert "hello" in tlog.CustomLoggerFormatter.format(record)
