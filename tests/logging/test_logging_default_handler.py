"""``DefaultHandler`` and the default formatter as upstream's API names them: ``set_default_formatter()``'s forms,
``TOMODACHI_LOGGER_TYPE``, the formatters' names, and handlers of the application's own left alone."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

import tomodachi.logging as tlog


@pytest.fixture(autouse=True)
def _restore() -> Iterator[None]:
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    yield
    tlog.remove_handlers()
    tlog.set_default_formatter("console")
    tlog.set_custom_logger(None)
    root.setLevel(level)
    root.handlers[:] = handlers


@pytest.fixture
def app_logger() -> Iterator[logging.Logger]:
    """A logger writing through ``DefaultHandler`` alone, as a test suite attaches it to one logger."""
    logger = logging.getLogger("tests.default_handler")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(tlog.DefaultHandler)
    yield logger
    logger.removeHandler(tlog.DefaultHandler)
    logger.setLevel(logging.NOTSET)
    logger.propagate = True


@pytest.mark.parametrize(
    ("name", "formatter", "shown_as"),
    [
        ("console", "ConsoleFormatter", "ConsoleFormatter"),
        ("no_color_console", "NoColorConsoleFormatter", "NoColorConsoleFormatter"),
        ("json", "JSONFormatter", "JSONFormatter"),
        ("python", "PythonLoggingFormatter", "PythonLoggingFormatter"),
        ("disabled", "DisabledFormatter", "DisabledFormatter"),
    ],
)
def test_a_formatter_name_sets_that_formatter_and_the_logger_type(name: str, formatter: str, shown_as: str) -> None:
    tlog.set_default_formatter(logger_type=name)
    assert tlog.DefaultHandler.formatter is getattr(tlog, formatter)
    assert tlog.TOMODACHI_LOGGER_TYPE == name
    assert repr(tlog.DefaultHandler.formatter) == shown_as
    tlog.set_default_formatter("console")
    tlog.set_default_formatter(name)  # the name given positionally
    assert tlog.DefaultHandler.formatter is getattr(tlog, formatter)


def test_a_formatter_object_is_set_as_given_and_its_own_formatters_count_as_python() -> None:
    tlog.set_default_formatter(tlog.JSONFormatter)
    assert (tlog.DefaultHandler.formatter, tlog.TOMODACHI_LOGGER_TYPE) == (tlog.JSONFormatter, "json")
    tlog.set_default_formatter(formatter=tlog.ConsoleFormatter)
    assert (tlog.DefaultHandler.formatter, tlog.TOMODACHI_LOGGER_TYPE) == (tlog.ConsoleFormatter, "console")
    own = logging.Formatter(tlog.DEFAULT_FORMAT)
    tlog.set_default_formatter(formatter=own)
    assert (tlog.DefaultHandler.formatter, tlog.TOMODACHI_LOGGER_TYPE) == (own, "python")


def test_no_argument_applies_the_default_again() -> None:
    tlog.set_default_formatter("json")
    tlog.DefaultHandler.setFormatter(tlog.PythonLoggingFormatter)
    tlog.set_default_formatter()
    assert tlog.DefaultHandler.formatter is tlog.JSONFormatter


@pytest.mark.parametrize(
    "call",
    [
        lambda: tlog.set_default_formatter(logger_type="console", formatter=tlog.ConsoleFormatter),
        lambda: tlog.set_default_formatter("console", formatter=tlog.ConsoleFormatter),
        lambda: tlog.set_default_formatter(tlog.ConsoleFormatter, logger_type="console"),
        lambda: tlog.set_default_formatter(42),  # type: ignore[arg-type]
    ],
)
def test_more_than_one_formatter_or_an_odd_one_is_a_type_error(call: object) -> None:
    with pytest.raises(TypeError):
        call()  # type: ignore[operator]


def test_an_unknown_formatter_name_is_a_value_error_and_changes_nothing() -> None:
    with pytest.raises(ValueError, match="invalid log formatter 'invalid'"):
        tlog.set_default_formatter(logger_type="invalid")
    assert tlog.TOMODACHI_LOGGER_TYPE == "console"


def test_configure_installs_the_default_handler_and_a_formatter_given_to_it_shows_as_the_logger_type() -> None:
    handler = tlog.configure("info", "json", stream=io.StringIO())
    assert handler is tlog.DefaultHandler is tlog.DefaultRootLoggerHandler
    assert tlog.DefaultHandler in logging.getLogger().handlers
    assert tlog.TOMODACHI_LOGGER_TYPE == "json"
    tlog.configure("info", stream=io.StringIO())  # without one: the default formatter
    assert tlog.TOMODACHI_LOGGER_TYPE == "console"


def test_the_default_handler_follows_the_default_formatter_wherever_it_is_attached(
    app_logger: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    tlog.set_default_formatter(logger_type="json")
    tlog.get_logger(app_logger.name).info("structured")
    app_logger.info("stdlib")
    assert [json.loads(line)["message"] for line in capsys.readouterr().err.splitlines()] == ["structured", "stdlib"]


def test_the_console_formatter_on_the_default_handler_colors_only_a_terminal(
    app_logger: logging.Logger, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("NO_COLOR", "NOCOLOR", "TOMODACHI_NO_COLOR", "TOMODACHI_NOCOLOR", "CLICOLOR", "CLICOLOR_FORCE"):
        monkeypatch.delenv(name, raising=False)
    tlog.set_default_formatter(logger_type="console")
    assert tlog.DefaultHandler.formatter is tlog.ConsoleFormatter
    app_logger.warning("to a capture, not a terminal")
    assert "\x1b[" not in capsys.readouterr().err
    monkeypatch.setenv("CLICOLOR_FORCE", "1")
    tlog.set_default_formatter(logger_type="console")
    app_logger.warning("forced")
    assert "\x1b[" in capsys.readouterr().err


def test_set_default_formatter_leaves_the_applications_own_stderr_handlers_alone(
    capsys: pytest.CaptureFixture[str],
) -> None:
    own = tlog.StderrHandler()
    own.setFormatter(tlog.NoColorConsoleFormatter)
    logging.getLogger().addHandler(own)
    logging.getLogger().setLevel(logging.INFO)
    tlog.set_default_formatter(logger_type="json")
    logging.getLogger("tests.own_handler").info("still console")
    assert "[info     ] still console                  [tests.own_handler]" in capsys.readouterr().err
    tlog.remove_handlers()
    assert own in logging.getLogger().handlers


def test_the_custom_logger_set_is_readable_as_upstreams_name() -> None:
    class Custom:
        def __init__(self, context: dict[str, object]) -> None:
            pass

    assert tlog.TOMODACHI_CUSTOM_LOGGER is None
    tlog.set_custom_logger_factory(Custom)
    assert tlog.TOMODACHI_CUSTOM_LOGGER is Custom
    tlog.set_custom_logger_factory(None)
    assert tlog.TOMODACHI_CUSTOM_LOGGER is None


def test_the_level_constants_are_the_stdlibs() -> None:
    assert (tlog.DEBUG, tlog.INFO, tlog.WARNING, tlog.ERROR, tlog.CRITICAL) == (10, 20, 30, 40, 50)
