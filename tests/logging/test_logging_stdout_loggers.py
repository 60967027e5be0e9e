"""Upstream's ``_get_logger(name, logger_type=...)``: loggers printing one format straight to stdout, forwarding to
the custom logger, dropping everything, or the same loggers as ``get_logger()``."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

import tomodachi.logging as tlog


@pytest.fixture(autouse=True)
def _levels() -> Iterator[None]:
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.INFO)
    yield
    root.setLevel(level)
    tlog.set_custom_logger(None)


def _json(out: str) -> dict[str, Any]:
    (line,) = out.splitlines()
    entry: dict[str, Any] = json.loads(line)
    return entry


def test_json_lines_go_to_stdout_named_default_without_a_name(capsys: pytest.CaptureFixture[str]) -> None:
    logger = tlog._get_logger(logger_type="json")
    assert logger.name == "default"
    logger.warning("this is a warning")
    out, err = capsys.readouterr()
    entry = _json(out)
    assert entry == {
        "timestamp": entry["timestamp"],
        "logger": "default",
        "level": "warning",
        "message": "this is a warning",
    }
    assert err == ""


def test_a_line_without_a_message_has_no_message_key(capsys: pytest.CaptureFixture[str]) -> None:
    logger = tlog._get_logger("tests.stdout", logger_type="json").bind(x=1, y=...)
    logger.info(z=0)
    entry = _json(capsys.readouterr().out)
    assert entry == {"timestamp": entry["timestamp"], "logger": "tests.stdout", "level": "info", "x": 1, "z": 0}


def test_binding_logger_renames_the_line_and_is_remembered_under_the_new_name(
    capsys: pytest.CaptureFixture[str],
) -> None:
    tlog._get_logger("tests.stdout", logger_type="json").bind(logger="tests.stdout.renamed", value="abc")
    tlog._get_logger("tests.stdout.renamed", logger_type="json").info("renamed")
    tlog._get_logger("tests.stdout", logger_type="json").info("original")
    renamed, original = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert (renamed["logger"], renamed["value"], renamed["message"]) == ("tests.stdout.renamed", "abc", "renamed")
    assert original["logger"] == "tests.stdout" and "value" not in original


def test_the_level_is_that_of_the_logger_of_the_same_name(capsys: pytest.CaptureFixture[str]) -> None:
    logging.getLogger("tests.stdout.quiet").setLevel(logging.ERROR)
    try:
        logger = tlog._get_logger("tests.stdout.quiet", logger_type="json")
        logger.warning("dropped")
        logger.error("kept")
    finally:
        logging.getLogger("tests.stdout.quiet").setLevel(logging.NOTSET)
    assert _json(capsys.readouterr().out)["message"] == "kept"


@pytest.mark.parametrize("logger_type", ["console", "no_color_console"])
def test_console_lines_go_to_stdout(logger_type: str, capsys: pytest.CaptureFixture[str]) -> None:
    tlog._get_logger("tests.stdout", logger_type=logger_type).info("on the console", k=1)
    out = capsys.readouterr().out
    assert "\x1b[" not in out  # not a terminal
    assert out.rstrip("\n").endswith("[info     ] on the console                 [tests.stdout] k=1")


def test_disabled_drops_every_line(capsys: pytest.CaptureFixture[str]) -> None:
    tlog._get_logger("tests.stdout", logger_type="disabled").error("nothing")
    assert capsys.readouterr() == ("", "")


def test_custom_hands_the_line_to_the_custom_logger() -> None:
    calls: list[tuple[str, str, dict[str, Any]]] = []

    class Custom:
        def __init__(self, context: dict[str, Any]) -> None:
            self.name = context["logger"]

        def info(self, message: str, **fields: Any) -> None:
            calls.append((self.name, message, fields))

    tlog.set_custom_logger(Custom)
    tlog._get_logger("tests.stdout", logger_type="custom").info("forwarded", k=1)
    [(name, message, fields)] = calls
    assert (name, message, fields["logger"], fields["k"]) == ("tests.stdout", "forwarded", "tests.stdout", 1)


@pytest.mark.parametrize("logger_type", ["forward", "python"])
def test_forward_and_python_are_the_loggers_get_logger_returns(logger_type: str) -> None:
    logger = tlog._get_logger("tests.stdout", logger_type=logger_type)
    assert type(logger) is type(tlog.get_logger("tests.stdout")) and logger.name == "tests.stdout"


def test_an_unknown_logger_type_is_an_error() -> None:
    with pytest.raises(ValueError, match="invalid logger type 'xml'"):
        tlog._get_logger(logger_type="xml")
