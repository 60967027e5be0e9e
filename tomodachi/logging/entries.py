"""From a LogRecord to the entry the formatters render, and the base class of tomodachi's formatters."""

from __future__ import annotations

import datetime
import logging
import traceback
from types import TracebackType
from typing import Any

from tomodachi.logging.records import _message_text, _StructuredMessage

_ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]

_RECORD_ATTRIBUTES = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}


class _Entry:
    """A record as the formatters see it (plain class, not a dataclass: building dataclasses costs startup).
    ``message_given`` is false for a structured event logged without a message (``log.info(k=1)``)."""

    __slots__ = ("timestamp", "level", "logger", "message", "message_given", "fields", "exc_info", "stack_info")

    def __init__(
        self,
        timestamp: str,
        level: str,
        logger: str,
        message: str,
        fields: dict[str, object],
        exc_info: _ExcInfo | None,
        stack_info: str | None,
        message_given: bool = True,
    ) -> None:
        self.timestamp = timestamp
        self.level = level
        self.logger = logger
        self.message = message
        self.message_given = message_given
        self.fields = fields
        self.exc_info = exc_info
        self.stack_info = stack_info


_last_second: list[Any] = [None, ""]  # the whole second last formatted, and its text up to the fraction


def _timestamp(created: float) -> str:
    second = int(created)
    if second != _last_second[0]:
        moment = datetime.datetime.fromtimestamp(second, datetime.timezone.utc)
        _last_second[:] = [second, moment.strftime("%Y-%m-%dT%H:%M:%S.")]
    micros = int(round((created - second) * 1_000_000))
    if micros >= 1_000_000:  # rounding reached the next second
        return _timestamp(float(second + 1))
    return f"{_last_second[1]}{micros:06d}Z"


def _entry(record: logging.LogRecord) -> _Entry:
    message_given = True
    if isinstance(record.msg, _StructuredMessage):
        fields = dict(record.msg.fields)
        event = fields.pop("event", None)
        message_given = event is not None
        message = _message_text(event)
    else:
        try:
            message = record.getMessage()
        except Exception:
            message = f"{record.msg} {record.args!r}"
        extra = {k: v for k, v in record.__dict__.items() if k not in _RECORD_ATTRIBUTES and not k.startswith("_")}
        fields = {"extra": extra} if extra else {}
    exc_info = record.exc_info if record.exc_info and record.exc_info[0] is not None else None
    return _Entry(
        _timestamp(record.created),
        record.levelname.lower(),
        record.name,
        message,
        fields,
        exc_info,  # type: ignore[arg-type]
        record.stack_info,
        message_given,
    )


def _format_exception(exc_info: _ExcInfo) -> str:
    return "".join(traceback.format_exception(*exc_info)).rstrip("\n")


class _TomodachiFormatter(logging.Formatter):
    """Base of the console and JSON formatters; a failing render falls back to a minimal safe line.

    ``_logger_type`` is the formatter's name in ``configure()`` and ``TOMODACHI_LOGGER_TYPE``; ``repr()`` gives the
    name it is exported under (``ConsoleFormatter``)."""

    _logger_type = ""
    _export_name = ""

    def __repr__(self) -> str:
        return self._export_name or type(self).__name__

    def render(self, entry: _Entry) -> str:
        raise NotImplementedError

    def format(self, record: logging.LogRecord) -> str:
        try:
            return self.render(_entry(record))
        except Exception as exc:
            return f"{_timestamp(record.created)} [{record.levelname.lower()}] {record.msg!r} [{record.name}] (log formatting failed: {exc!r})"
