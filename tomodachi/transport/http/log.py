"""Loggers of the HTTP transport: structured (``tomodachi.logging``) when available, stdlib ``extra=`` otherwise."""

from __future__ import annotations

import logging
from typing import Any


class _StdlibLogger:
    """Accepts structlog-style ``logger.info(message, **fields)`` calls and forwards them to the stdlib."""

    def __init__(self, name: str) -> None:
        self._logger = logging.getLogger(name)

    def _log(self, level: int, message: str, exc_info: bool, fields: dict[str, Any]) -> None:
        if self._logger.isEnabledFor(level):
            self._logger.log(level, message, exc_info=exc_info, extra={"tomodachi": fields, **_safe_extra(fields)})

    def debug(self, message: str, **fields: Any) -> None:
        self._log(logging.DEBUG, message, False, fields)

    def info(self, message: str, **fields: Any) -> None:
        self._log(logging.INFO, message, False, fields)

    def warning(self, message: str, **fields: Any) -> None:
        self._log(logging.WARNING, message, False, fields)

    def error(self, message: str, **fields: Any) -> None:
        self._log(logging.ERROR, message, False, fields)

    def exception(self, message: str, **fields: Any) -> None:
        self._log(logging.ERROR, message, True, fields)


_RESERVED = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


def _safe_extra(fields: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in fields.items() if key not in _RESERVED}


def get_logger(name: str) -> Any:
    """Resolved per call site at runtime so the project's logging set-up is picked up once it is configured."""
    try:
        from tomodachi.logging import get_logger as structured
    except ImportError:
        return _StdlibLogger(name)
    return structured(name)
