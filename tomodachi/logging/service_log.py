"""``Service.log()``'s argument forms, as upstream accepts them: ``log(message)``, ``log(level, message)``,
``log(name, message)``, ``log(name, level, message)`` and the ``level=``/``lvl=``/``name=``/``message=``/``msg=`` keywords."""

from __future__ import annotations

import logging
from typing import Any

from tomodachi.logging.context import _HANDLER_CONTEXT
from tomodachi.logging.loggers import get_logger
from tomodachi.logging.records import method_for_level

_LEVEL_NAMES = {
    "NOTSET": logging.NOTSET,
    "DEBUG": logging.DEBUG,
    "INFO": logging.INFO,
    "WARN": logging.WARNING,
    "WARNING": logging.WARNING,
    "ERROR": logging.ERROR,
    "FATAL": logging.CRITICAL,
    "CRITICAL": logging.CRITICAL,
}


def _level(value: object) -> int | None:
    if type(value) is int:
        return value
    if isinstance(value, str):
        return _LEVEL_NAMES.get(value.strip().upper())
    return None


def log_for_service(service_logger_name: str, *args: object, **kwargs: Any) -> None:
    """Log one line for ``Service.log(*args, **kwargs)``. Without a logger name it goes to the logger of the
    handler being run (``get_logger()``), else to ``service_logger_name``; the level defaults to INFO, and keyword
    arguments left over become fields. An unknown level name logs at INFO rather than raising."""
    name: str | None = None
    level: int | None = None
    message: object = None
    if len(args) == 1:
        message = args[0]
    elif len(args) == 2:
        level = _level(args[0])
        if level is None:
            name = str(args[0])
        message = args[1]
    elif len(args) >= 3:
        name, level, message = str(args[0]), _level(args[1]), args[2]
    for keyword in ("level", "lvl"):
        if keyword in kwargs:
            level = _level(kwargs.pop(keyword))
    if "name" in kwargs:
        name = kwargs.pop("name") or None
    for keyword in ("message", "msg"):
        if not message and keyword in kwargs:
            message = kwargs.pop(keyword)
    if name:
        logger = get_logger(name)
    elif _HANDLER_CONTEXT.get().logger_name:
        logger = get_logger()
    else:
        logger = get_logger(service_logger_name)
    getattr(logger, method_for_level(level or logging.INFO))(message or "", **kwargs)
