"""From a logger call to a stdlib LogRecord: the structured message, %-arguments, exc_info and the caller's frame."""

from __future__ import annotations

import logging
import os
import sys
import traceback
from collections.abc import Mapping
from types import FrameType
from typing import TYPE_CHECKING

from tomodachi.logging.text import key_value_text

if TYPE_CHECKING:  # structlog is imported on the first get_logger(), not at startup
    from structlog.typing import EventDict, WrappedLogger

_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "warn": logging.WARNING,
    "error": logging.ERROR,
    "exception": logging.ERROR,
    "critical": logging.CRITICAL,
    "fatal": logging.CRITICAL,
}


def method_for_level(levelno: int) -> str:
    """The logger method (``debug`` … ``critical``) of a numeric level: the highest one at or below it."""
    for threshold, name in (
        (logging.CRITICAL, "critical"),
        (logging.ERROR, "error"),
        (logging.WARNING, "warning"),
        (logging.INFO, "info"),
    ):
        if levelno >= threshold:
            return name
    return "debug"


class _StructuredMessage:
    """``LogRecord.msg`` of structlog events; str() gives ``message k=v …`` for handlers that are not ours."""

    __slots__ = ("fields",)

    def __init__(self, fields: dict[str, object]) -> None:
        self.fields = fields

    def __str__(self) -> str:
        fields = dict(self.fields)
        message = _message_text(fields.pop("event", None))
        pairs = key_value_text(fields)
        return f"{message} {pairs}" if pairs else message


def _message_text(event: object) -> str:
    if event is None:
        return ""
    try:
        return event if isinstance(event, str) else str(event)
    except Exception:
        return object.__repr__(event)


def _format_positional(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
    args = event_dict.pop("positional_args", None)
    if args:
        event = event_dict.get("event")
        try:
            event_dict["event"] = str(event) % (args[0] if len(args) == 1 and isinstance(args[0], Mapping) else args)
        except Exception:
            event_dict["event"] = f"{event} {args!r}"
    return event_dict


def _capture_exc_info(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
    # Resolve exc_info=True now, while the exception is still being handled.
    exc_info = event_dict.get("exc_info")
    if exc_info is True:
        info = sys.exc_info()
        event_dict["exc_info"] = info if info[0] is not None else None
    elif isinstance(exc_info, BaseException):
        event_dict["exc_info"] = (type(exc_info), exc_info, exc_info.__traceback__)
    elif exc_info is not None and not (isinstance(exc_info, tuple) and len(exc_info) == 3):
        event_dict["exc_info"] = None
    return event_dict


# where a record's caller is looked for past: this package, then structlog once it is imported
_INTERNAL_FILES: tuple[str, ...] = (os.path.dirname(__file__) + os.sep,)


def _add_internal_files(*paths: str) -> None:
    global _INTERNAL_FILES
    _INTERNAL_FILES = (*_INTERNAL_FILES, *(path for path in paths if path not in _INTERNAL_FILES))


def internal_files() -> tuple[str, ...]:
    """The path prefixes of logging's own code, skipped when a record's caller is looked for."""
    return _INTERNAL_FILES


def _stacklevel(frame: FrameType) -> int:
    """The ``stacklevel`` that makes the stdlib record point at the user's call: ``frame`` is the one calling the
    stdlib logger (stacklevel 1); every further logging-internal frame outward adds one."""
    level = 1
    while frame.f_back is not None and frame.f_code.co_filename.startswith(_INTERNAL_FILES):
        frame = frame.f_back
        level += 1
    return level


def _stdlib_call(event_dict: EventDict, caller: FrameType) -> tuple[tuple[object, ...], dict[str, object]]:
    """The positional and keyword arguments of the stdlib logger call made from frame ``caller``."""
    exc_info = event_dict.pop("exc_info", None)
    stack_info = bool(event_dict.pop("stack_info", False))
    stacklevel = 1
    if sys.version_info >= (3, 11):  # earlier findCaller() counts frames differently; keep its default there
        try:
            stacklevel = _stacklevel(caller)
        except Exception:
            pass
    kwargs: dict[str, object] = {"exc_info": exc_info, "stack_info": stack_info, "stacklevel": stacklevel}
    return (_StructuredMessage(dict(event_dict)),), kwargs


def _report_failure(event: object) -> None:
    try:
        sys.stderr.write(f"--- tomodachi: logging failed for event {event!r} ---\n{traceback.format_exc()}")
    except Exception:
        pass
