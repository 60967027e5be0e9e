"""``framework_logger``: the framework's own lines, as the records ``get_logger(name)`` makes, without structlog."""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING

from tomodachi.logging.context import _BOUND_BY_NAME
from tomodachi.logging.records import (
    _LEVELS,
    _capture_exc_info,
    _format_positional,
    _report_failure,
    _stdlib_call,
    _StructuredMessage,
)

if TYPE_CHECKING:
    from structlog.typing import EventDict


class FrameworkLogger:
    """The framework's own lines (lifecycle, HTTP): the same records as ``get_logger(name)`` makes, without
    importing structlog, so starting a service does not pay for it. Not a structlog logger: no ``bind()``; what
    was bound on a logger of its name (``get_logger(name).bind(...)``) is looked up at each line."""

    __slots__ = ("_logger",)

    def __init__(self, name: str) -> None:
        self._logger = logging.getLogger(name)

    @property
    def name(self) -> str:
        return self._logger.name

    def debug(self, event: str | None = None, *args: object, **kw: object) -> None:
        self._emit("debug", event, args, kw)

    def info(self, event: str | None = None, *args: object, **kw: object) -> None:
        self._emit("info", event, args, kw)

    def warning(self, event: str | None = None, *args: object, **kw: object) -> None:
        self._emit("warning", event, args, kw)

    def error(self, event: str | None = None, *args: object, **kw: object) -> None:
        self._emit("error", event, args, kw)

    def exception(self, event: str | None = None, *args: object, **kw: object) -> None:
        kw.setdefault("exc_info", True)
        self._emit("exception", event, args, kw)

    def critical(self, event: str | None = None, *args: object, **kw: object) -> None:
        self._emit("critical", event, args, kw)

    def _emit(self, method_name: str, event: str | None, args: tuple[object, ...], kw: dict[str, object]) -> None:
        # the steps of the structlog processor chain of get_logger(), in the same order
        try:
            logger = self._logger
            if not logger.isEnabledFor(_LEVELS[method_name]):
                return
            bound = _BOUND_BY_NAME.get().get(logger.name)
            event_dict: EventDict = {**bound, **kw} if bound else dict(kw)
            if event_dict.get("logger") == logger.name:  # the bound logger name is the record's name, not a field
                del event_dict["logger"]
            if args:
                event_dict["positional_args"] = args
            if event is not None:
                event_dict["event"] = event
            contextvars_module = sys.modules.get("structlog.contextvars")
            if contextvars_module is not None:  # only bound if the application imported structlog
                event_dict = contextvars_module.merge_contextvars(logger, method_name, event_dict)
            event_dict = _format_positional(logger, method_name, event_dict)
            event_dict = _capture_exc_info(logger, method_name, event_dict)
            call_args, call_kwargs = _stdlib_call(event_dict, sys._getframe(0))
            getattr(logger, method_name)(*call_args, **call_kwargs)
        except Exception:
            _report_failure(event)

    def fields_line(self, level: int, fields: dict[str, object]) -> None:
        """One line of ``fields`` with an empty message, the record ``info("", **fields)`` makes, for lines
        written per request (the access log): the caller's place is taken from the frame that called this rather
        than searched for, and ``fields`` is used as it is (the caller gives up the dict)."""
        logger = self._logger
        if not logger.isEnabledFor(level):
            return
        try:
            bound = _BOUND_BY_NAME.get().get(logger.name)
            event_dict: dict[str, object] = {**bound, **fields} if bound else fields
            if event_dict.get("logger") == logger.name:
                del event_dict["logger"]
            event_dict.pop("exc_info", None)
            event_dict.pop("stack_info", None)
            event_dict["event"] = ""
            contextvars_module = sys.modules.get("structlog.contextvars")
            if contextvars_module is not None:
                event_dict = dict(contextvars_module.merge_contextvars(logger, "info", event_dict))
            caller = sys._getframe(1)
            code = caller.f_code
            record = logger.makeRecord(
                logger.name,
                level,
                code.co_filename,
                caller.f_lineno,
                _StructuredMessage(event_dict),
                (),
                None,
                code.co_name,
            )
            logger.handle(record)
        except Exception:
            _report_failure("")


def framework_logger(name: str) -> FrameworkLogger:
    """The logger for the framework's own lines; see ``FrameworkLogger``."""
    return FrameworkLogger(name)
