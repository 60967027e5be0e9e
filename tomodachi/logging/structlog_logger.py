"""The structlog side: ``Logger`` and its processors, imported on the first ``get_logger()`` (starting a service
does not pay for structlog until something asks for a Logger)."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING

import structlog
from structlog.contextvars import merge_contextvars
from structlog.exceptions import DropEvent
from structlog.typing import Context, EventDict, Processor, WrappedLogger

from tomodachi.logging.context import _HANDLER_CONTEXT, DEFAULT_LOGGER_NAME, bound_context, remember_bound
from tomodachi.logging.records import (
    _LEVELS,
    _add_internal_files,
    _capture_exc_info,
    _format_positional,
    _report_failure,
    _stdlib_call,
)

if TYPE_CHECKING:
    from typing_extensions import Self

# records made through structlog point at the user's call, past structlog's own frames
_add_internal_files(os.path.dirname(structlog.__file__) + os.sep)


def _drop_disabled(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
    # Cheap level check before any other processing.
    if not logger.isEnabledFor(_LEVELS.get(method_name, logging.INFO)):
        raise DropEvent
    return event_dict


def _to_stdlib(
    logger: WrappedLogger, method_name: str, event_dict: EventDict
) -> tuple[tuple[object, ...], dict[str, object]]:
    if event_dict.get("logger") == logger.name:  # the bound logger name is the record's name, not a field
        del event_dict["logger"]
    # frame 0: here, 1: structlog's _process_event, 2: structlog's _proxy_to_logger, which calls the stdlib logger
    return _stdlib_call(event_dict, sys._getframe(2))


_PROCESSORS: list[Processor] = [
    _drop_disabled,
    merge_contextvars,
    _format_positional,
    _capture_exc_info,
    _to_stdlib,
]


def _named(logger: WrappedLogger, name: str) -> WrappedLogger:
    """The wrapped logger of the same kind as ``logger``, named ``name``."""
    renamed = getattr(logger, "renamed", None)
    return renamed(name) if renamed is not None else logging.getLogger(name)


class Logger(structlog.stdlib.BoundLogger):
    """A structlog ``BoundLogger`` proxying the stdlib Logger API: ``info(message, **fields)``, ``bind()``,
    ``new()``, ``exception()``… A failure while logging is reported on stderr, never raised to the caller.

    As in upstream tomodachi, a bound ``logger`` value is the logger's name, and what a logger is bound to is
    remembered per name: a later ``get_logger(name)`` in the same context (task) starts from it."""

    def __init__(self, logger: WrappedLogger, processors: Iterable[Processor], context: Context) -> None:
        name = context.get("logger")
        if type(name) is str and name and name != logger.name:
            logger = _named(logger, name)
        super().__init__(logger, processors, context)

    def bind(self, **new_values: object) -> Self:
        bound = super().bind(**new_values)
        if new_values:
            remember_bound(bound._logger.name, bound._context)
        return bound

    def _proxy_to_logger(
        self, method_name: str, event: str | None = None, *event_args: str, **event_kw: object
    ) -> object:
        try:
            return super()._proxy_to_logger(method_name, event, *event_args, **event_kw)
        except Exception:
            _report_failure(event)
            return None


class _HandlerContextLogger(Logger):
    """``get_logger()`` without a name: the logger name and fields come from the current handler context at
    log time, so a logger created at import time still carries the context of the handler it is used in. A bound
    ``logger`` name wins over the handler's."""

    @property  # type: ignore[override]
    def _logger(self) -> logging.Logger:
        name = self._context.get("logger")
        if type(name) is not str or not name:
            name = _HANDLER_CONTEXT.get().logger_name
        return logging.getLogger(name) if name else self._default_logger

    @_logger.setter
    def _logger(self, value: logging.Logger) -> None:
        self._default_logger = value

    def bind(self, **new_values: object) -> Self:
        # built on the fallback logger, not on the handler's logger of the moment
        bound = self.__class__(self._default_logger, self._processors, {**self._context, **new_values})
        name = bound._context.get("logger")
        if type(name) is str and name:  # remembered only once named: until then it follows whichever handler runs
            remember_bound(name, bound._context)
        return bound

    def _proxy_to_logger(
        self, method_name: str, event: str | None = None, *event_args: str, **event_kw: object
    ) -> object:
        fields = _HANDLER_CONTEXT.get().fields
        if fields:
            # Precedence: handler context < bound context < call keywords.
            inherited = {k: v for k, v in fields.items() if k not in self._context and k not in event_kw}
            event_kw = {**inherited, **event_kw}
        return super()._proxy_to_logger(method_name, event, *event_args, **event_kw)


def new_logger(name: str | None) -> Logger:
    if name is None:
        return _HandlerContextLogger(logging.getLogger(DEFAULT_LOGGER_NAME), _PROCESSORS, {})
    return Logger(logging.getLogger(name), _PROCESSORS, bound_context(name))


def wrap(logger: WrappedLogger, context: Context) -> Logger:
    """A ``Logger`` over ``logger`` (any object with the stdlib Logger API) with the standard processors."""
    return Logger(logger, _PROCESSORS, context)


__all__ = ["Logger", "new_logger", "wrap"]
