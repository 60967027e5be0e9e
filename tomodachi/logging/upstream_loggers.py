"""Upstream's ``_get_logger(name, logger_type=...)``: loggers printing one format straight to stdout, handing every
line to the custom logger, dropping every line, or (``forward``, ``python``) the loggers ``get_logger()`` returns."""

from __future__ import annotations

import logging
from typing import Any

from tomodachi.logging.context import _HANDLER_CONTEXT, DEFAULT_LOGGER_NAME, bound_context
from tomodachi.logging.formatters import formatter_named
from tomodachi.logging.handler import _StdoutHandler
from tomodachi.logging.loggers import get_logger
from tomodachi.logging.structlog_logger import Logger, wrap

LOGGER_TYPES = ("json", "console", "no_color_console", "custom", "forward", "python", "disabled")

_handlers: dict[str, _StdoutHandler] = {}
_loggers: dict[tuple[str, str], _StdoutLogger] = {}


class _StdoutLogger(logging.Logger):
    """A stdlib logger outside the logger tree, writing through one stdout handler. Its level is that of the
    logger of the same name in the tree (``logging.getLogger(name)``)."""

    def __init__(self, logger_type: str, name: str) -> None:
        super().__init__(name)
        self.logger_type = logger_type
        self.propagate = False
        if logger_type != "disabled":
            self.addHandler(_handler(logger_type))

    def isEnabledFor(self, level: int) -> bool:  # noqa: N802 - the stdlib's name
        return self.logger_type != "disabled" and logging.getLogger(self.name).isEnabledFor(level)

    def getEffectiveLevel(self) -> int:  # noqa: N802 - the stdlib's name
        return logging.getLogger(self.name).getEffectiveLevel()

    def renamed(self, name: str) -> _StdoutLogger:
        return _stdout_logger(self.logger_type, name)


def _handler(logger_type: str) -> _StdoutHandler:
    handler = _handlers.get(logger_type)
    if handler is None:
        handler = _handlers[logger_type] = _StdoutHandler()
        handler.setFormatter(formatter_named(logger_type))
    return handler


def _stdout_logger(logger_type: str, name: str) -> _StdoutLogger:
    logger = _loggers.get((logger_type, name))
    if logger is None:
        logger = _loggers[(logger_type, name)] = _StdoutLogger(logger_type, name)
    return logger


def _get_logger(name: str | None = None, *, logger_type: str = "forward") -> Logger:
    """A logger named ``name`` (without one: the handler context's, else ``"default"``) whose lines are printed
    to stdout as ``json``, ``console`` or ``no_color_console``, handed to the custom logger (``custom``), dropped
    (``disabled``), or logged as ``get_logger(name)`` does (``forward``, ``python``)."""
    if logger_type in ("forward", "python"):
        return get_logger(name)
    if logger_type not in LOGGER_TYPES:
        raise ValueError(f"invalid logger type {logger_type!r}; expected one of {', '.join(LOGGER_TYPES)}")
    context: dict[str, Any] = {}
    if name is None:
        current = _HANDLER_CONTEXT.get()
        name = current.logger_name or DEFAULT_LOGGER_NAME
        context.update(current.fields)
    context.update(bound_context(name))
    return wrap(_stdout_logger(logger_type, name), context)
