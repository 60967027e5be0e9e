"""``Service.log()`` (deprecated) takes upstream's argument forms and logs where upstream's does: to the logger of
the handler being run, else to the service's logger."""

from __future__ import annotations

import io
import json
import logging
from typing import Any

import pytest

import tomodachi
import tomodachi.logging as tlog


class LoggingService(tomodachi.Service):
    name = "service-log"


def _log(stream: io.StringIO, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """What one ``log()`` call wrote: logger, level, message and fields."""
    stream.seek(0)
    stream.truncate()
    with pytest.warns(DeprecationWarning, match="self.log"):
        LoggingService().log(*args, **kwargs)
    (line,) = stream.getvalue().splitlines()
    entry: dict[str, Any] = json.loads(line)
    del entry["timestamp"]
    return entry


@pytest.mark.parametrize(
    ("args", "kwargs", "expected"),
    [
        (("hello",), {}, ("tomodachi.service.service-log", "info", "hello")),
        (("warning", "lowercase level name"), {}, ("tomodachi.service.service-log", "warning", "lowercase level name")),
        ((logging.ERROR, "numeric level"), {}, ("tomodachi.service.service-log", "error", "numeric level")),
        (("my.logger", "a logger name"), {}, ("my.logger", "info", "a logger name")),
        (("my.logger", "DEBUG", "name, level, message"), {}, ("my.logger", "debug", "name, level, message")),
        (("level keyword",), {"level": logging.WARNING}, ("tomodachi.service.service-log", "warning", "level keyword")),
        (("lvl keyword",), {"lvl": "critical"}, ("tomodachi.service.service-log", "critical", "lvl keyword")),
        (("name keyword",), {"name": "named"}, ("named", "info", "name keyword")),
        ((), {"message": "message keyword"}, ("tomodachi.service.service-log", "info", "message keyword")),
        ((), {"msg": "msg keyword"}, ("tomodachi.service.service-log", "info", "msg keyword")),
        (("my.logger", "LOUD", "unknown level name"), {}, ("my.logger", "info", "unknown level name")),
    ],
)
def test_argument_forms(
    stream: io.StringIO, args: tuple[Any, ...], kwargs: dict[str, Any], expected: tuple[str, str, str]
) -> None:
    entry = _log(stream, *args, **kwargs)
    assert (entry.pop("logger"), entry.pop("level"), entry.pop("message")) == expected
    assert entry == {}


def test_other_keywords_are_fields(stream: io.StringIO) -> None:
    entry = _log(stream, "with fields", level="info", order=17)
    assert (entry["message"], entry["order"]) == ("with fields", 17)


def test_inside_a_handler_it_logs_to_the_handlers_logger(stream: io.StringIO) -> None:
    with tlog.bind_handler_context("tomodachi.lifecycle.handler", handler="_start_service", type="tomodachi.event"):
        entry = _log(stream, "_start_service", level=logging.INFO)
    assert (entry["logger"], entry["handler"], entry["type"]) == (
        "tomodachi.lifecycle.handler",
        "_start_service",
        "tomodachi.event",
    )
