"""Structured logging: structlog loggers over the stdlib, one root handler, console/json/python formatters.
Nothing is configured at import (the CLI or a test calls ``configure()``); each name loads its module on first use."""

from __future__ import annotations

import importlib
from logging import CRITICAL, DEBUG, ERROR, FATAL, INFO, NOTSET, WARN, WARNING

# typing costs more to import than this module: type checkers read the names below, Python does not
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_MODULES: dict[str, tuple[str, ...]] = {
    "context": (
        "bind_handler_context",
        "get_handler_context",
        "reset_context",
        "_HandlerContext",
        "_HANDLER_CONTEXT",
        "_NO_HANDLER_CONTEXT",
    ),
    "text": ("_console_value", "_printable", "_NEEDS_QUOTES", "_CONTROL"),
    "records": (
        "_LEVELS",
        "_StructuredMessage",
        "_message_text",
        "_format_positional",
        "_capture_exc_info",
        "_add_internal_files",
        "_stacklevel",
        "_stdlib_call",
        "_report_failure",
    ),
    "framework": ("FrameworkLogger", "framework_logger"),
    "entries": (
        "_ExcInfo",
        "_Entry",
        "_RECORD_ATTRIBUTES",
        "_entry",
        "_format_exception",
        "_TomodachiFormatter",
        "_timestamp",
        "_last_second",
    ),
    "console": (
        "colors_enabled",
        "_ConsoleFormatter",
        "_RESET",
        "_DIM",
        "_BRIGHT",
        "_BLUE",
        "_CYAN",
        "_MAGENTA",
        "_LEVEL_STYLES",
        "_NO_COLOR_VARIABLES",
        "_CLICOLOR_VARIABLES",
    ),
    "json_lines": (
        "_JSONFormatter",
        "_JSON_RENAMES",
        "_JSON_CORE_KEYS",
        "_json_default",
        "_json_safe",
        "_exception_fields",
        "_module_name",
    ),
    "formatters": (
        "ConsoleFormatter",
        "NoColorConsoleFormatter",
        "JSONFormatter",
        "PythonLoggingFormatter",
        "DisabledFormatter",
        "CustomLoggerFormatter",
        "DEFAULT_FORMAT",
        "_PythonLoggingFormatter",
        "_DisabledFormatter",
        "_CustomLoggerFormatter",
        "_FORMATTER_NAMES",
    ),
    "custom": (
        "CustomLoggerError",
        "resolve_custom_logger",
        "set_custom_logger",
        "set_custom_logger_factory",
        "_CUSTOM_LOGGER_KINDS",
        "_FORWARDING",
        "_current_custom_logger",
        "_forward",
        "_import_target",
        "_is_missing",
        "_target_logger",
        "_method_name",
    ),
    "handler": ("StderrHandler", "DefaultHandler", "DefaultRootLoggerHandler", "_defaultHandler", "_RootHandler"),
    "configuration": (
        "configure",
        "set_default_formatter",
        "remove_handlers",
        "WIRE_LOGGERS",
        "_installed_handlers",
        "_parse_level",
        "_resolve_formatter",
    ),
    "loggers": ("get_logger", "getLogger", "LoggerProtocol"),
    "structlog_logger": ("Logger",),
    "upstream_loggers": ("_get_logger",),
}
_HOME = {name: module for module, names in _MODULES.items() for name in names}

# names whose value changes while the process runs: looked up on every access, never cached here
_LIVE = {
    "TOMODACHI_LOGGER_TYPE": ("configuration", "default_logger_type"),
    "TOMODACHI_CUSTOM_LOGGER": ("custom", "custom_logger"),
    "_custom_logger": ("custom", "custom_logger"),
    "_default_formatter": ("configuration", "default_formatter"),
    "_INTERNAL_FILES": ("records", "internal_files"),
}

__all__ = [
    "ConsoleFormatter",
    "CustomLoggerError",
    "CustomLoggerFormatter",
    "DEFAULT_FORMAT",
    "DefaultHandler",
    "DefaultRootLoggerHandler",
    "DisabledFormatter",
    "FrameworkLogger",
    "JSONFormatter",
    "Logger",
    "LoggerProtocol",
    "NoColorConsoleFormatter",
    "PythonLoggingFormatter",
    "StderrHandler",
    "TOMODACHI_CUSTOM_LOGGER",
    "TOMODACHI_LOGGER_TYPE",
    "WIRE_LOGGERS",
    "bind_handler_context",
    "colors_enabled",
    "configure",
    "framework_logger",
    "get_handler_context",
    "get_logger",
    "getLogger",
    "remove_handlers",
    "reset_context",
    "resolve_custom_logger",
    "set_custom_logger",
    "set_custom_logger_factory",
    "set_default_formatter",
    "CRITICAL",
    "DEBUG",
    "ERROR",
    "FATAL",
    "INFO",
    "NOTSET",
    "WARN",
    "WARNING",
]


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is not None:
        value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
        globals()[name] = value
        return value
    live = _LIVE.get(name)
    if live is not None:
        module, getter = live
        return getattr(importlib.import_module(f"{__name__}.{module}"), getter)()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOME, *_LIVE})


if TYPE_CHECKING:  # the real signatures of the names resolved above, for type checkers
    from tomodachi.logging.configuration import WIRE_LOGGERS as WIRE_LOGGERS
    from tomodachi.logging.configuration import _installed_handlers as _installed_handlers
    from tomodachi.logging.configuration import _parse_level as _parse_level
    from tomodachi.logging.configuration import _resolve_formatter as _resolve_formatter
    from tomodachi.logging.configuration import configure as configure
    from tomodachi.logging.configuration import remove_handlers as remove_handlers
    from tomodachi.logging.configuration import set_default_formatter as set_default_formatter
    from tomodachi.logging.console import colors_enabled as colors_enabled
    from tomodachi.logging.context import _HANDLER_CONTEXT as _HANDLER_CONTEXT
    from tomodachi.logging.context import bind_handler_context as bind_handler_context
    from tomodachi.logging.context import get_handler_context as get_handler_context
    from tomodachi.logging.context import reset_context as reset_context
    from tomodachi.logging.custom import CustomLoggerError as CustomLoggerError
    from tomodachi.logging.custom import resolve_custom_logger as resolve_custom_logger
    from tomodachi.logging.custom import set_custom_logger as set_custom_logger
    from tomodachi.logging.custom import set_custom_logger_factory as set_custom_logger_factory
    from tomodachi.logging.entries import _entry as _entry
    from tomodachi.logging.entries import _timestamp as _timestamp
    from tomodachi.logging.formatters import DEFAULT_FORMAT as DEFAULT_FORMAT
    from tomodachi.logging.formatters import ConsoleFormatter as ConsoleFormatter
    from tomodachi.logging.formatters import CustomLoggerFormatter as CustomLoggerFormatter
    from tomodachi.logging.formatters import DisabledFormatter as DisabledFormatter
    from tomodachi.logging.formatters import JSONFormatter as JSONFormatter
    from tomodachi.logging.formatters import NoColorConsoleFormatter as NoColorConsoleFormatter
    from tomodachi.logging.formatters import PythonLoggingFormatter as PythonLoggingFormatter
    from tomodachi.logging.framework import FrameworkLogger as FrameworkLogger
    from tomodachi.logging.framework import framework_logger as framework_logger
    from tomodachi.logging.handler import DefaultHandler as DefaultHandler
    from tomodachi.logging.handler import DefaultRootLoggerHandler as DefaultRootLoggerHandler
    from tomodachi.logging.handler import StderrHandler as StderrHandler
    from tomodachi.logging.loggers import LoggerProtocol as LoggerProtocol
    from tomodachi.logging.loggers import get_logger as get_logger
    from tomodachi.logging.loggers import getLogger as getLogger
    from tomodachi.logging.records import _StructuredMessage as _StructuredMessage
    from tomodachi.logging.structlog_logger import Logger as Logger
    from tomodachi.logging.text import _console_value as _console_value
    from tomodachi.logging.upstream_loggers import _get_logger as _get_logger

    TOMODACHI_LOGGER_TYPE: str
    TOMODACHI_CUSTOM_LOGGER: object | None
