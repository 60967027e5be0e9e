"""The structlog side of ``tomodachi.logging``: ``Logger`` and its processors, imported on the first ``get_logger()``.

Kept apart so that starting a service does not pay for importing structlog until something asks for a Logger.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

import structlog
from structlog.contextvars import merge_contextvars
from structlog.exceptions import DropEvent
from structlog.typing import EventDict, WrappedLogger

from tomodachi import logging as _tlog

# records made through structlog point at the user's call, past structlog's own frames
_tlog._add_internal_files(os.path.dirname(structlog.__file__) + os.sep, __file__)


def _drop_disabled(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
    # Cheap level check before any other processing.
    if not logger.isEnabledFor(_tlog._LEVELS.get(method_name, logging.INFO)):
        raise DropEvent
    return event_dict


def _to_stdlib(
    logger: WrappedLogger, method_name: str, event_dict: EventDict
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    # frame 0: here, 1: structlog's _process_event, 2: structlog's _proxy_to_logger, which calls the stdlib logger
    return _tlog._stdlib_call(event_dict, sys._getframe(2))


_PROCESSORS: list[Any] = [
    _drop_disabled,
    merge_contextvars,
    _tlog._format_positional,
    _tlog._capture_exc_info,
    _to_stdlib,
]


class Logger(structlog.stdlib.BoundLogger):
    """A structlog ``BoundLogger`` proxying the stdlib Logger API: ``info(message, **fields)``, ``bind()``,
    ``new()``, ``exception()``… A failure while logging is reported on stderr, never raised to the caller."""

    def _proxy_to_logger(self, method_name: str, event: str | None = None, *event_args: str, **event_kw: Any) -> Any:
        try:
            return super()._proxy_to_logger(method_name, event, *event_args, **event_kw)
        except Exception:
            _tlog._report_failure(event)
            return None


class _HandlerContextLogger(Logger):
    """``get_logger()`` without a name: the logger name and fields come from the current handler context at
    log time, so a logger created at import time still carries the context of the handler it is used in."""

    @property  # type: ignore[override]
    def _logger(self) -> logging.Logger:
        name = _tlog._HANDLER_CONTEXT.get().logger_name
        return logging.getLogger(name) if name else self._default_logger

    @_logger.setter
    def _logger(self, value: logging.Logger) -> None:
        self._default_logger = value

    def _proxy_to_logger(self, method_name: str, event: str | None = None, *event_args: str, **event_kw: Any) -> Any:
        fields = _tlog._HANDLER_CONTEXT.get().fields
        if fields:
            # Precedence: handler context < bound context < call keywords.
            inherited = {k: v for k, v in fields.items() if k not in self._context and k not in event_kw}
            event_kw = {**inherited, **event_kw}
        return super()._proxy_to_logger(method_name, event, *event_args, **event_kw)


def new_logger(name: str | None) -> Logger:
    if name is None:
        return _HandlerContextLogger(logging.getLogger("tomodachi"), _PROCESSORS, {})
    return Logger(logging.getLogger(name), _PROCESSORS, {})


__all__ = ["Logger", "new_logger"]
