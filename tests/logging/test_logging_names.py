"""What ``tomodachi.logging`` offers: every name the single-module ``tomodachi.logging`` had (applications, upstream
code and tests import them, private ones included), and a bare import that loads none of its modules."""

from __future__ import annotations

import subprocess
import sys

import pytest

import tomodachi.logging as tlog

PUBLIC = (
    "ConsoleFormatter",
    "CustomLoggerError",
    "CustomLoggerFormatter",
    "DisabledFormatter",
    "FrameworkLogger",
    "JSONFormatter",
    "LoggerProtocol",
    "NoColorConsoleFormatter",
    "PythonLoggingFormatter",
    "StderrHandler",
    "WIRE_LOGGERS",
    "bind_handler_context",
    "colors_enabled",
    "configure",
    "framework_logger",
    "getLogger",
    "get_handler_context",
    "get_logger",
    "remove_handlers",
    "reset_context",
    "resolve_custom_logger",
    "set_custom_logger",
    "set_custom_logger_factory",
    "set_default_formatter",
)

# private, but imported by tests, upstream code and tomodachi's own modules before the package split
PRIVATE = (
    "_BLUE",
    "_BRIGHT",
    "_CLICOLOR_VARIABLES",
    "_CONTROL",
    "_CUSTOM_LOGGER_KINDS",
    "_CYAN",
    "_ConsoleFormatter",
    "_CustomLoggerFormatter",
    "_DIM",
    "_DisabledFormatter",
    "_Entry",
    "_ExcInfo",
    "_FORMATTER_NAMES",
    "_FORWARDING",
    "_HANDLER_CONTEXT",
    "_HandlerContext",
    "_INTERNAL_FILES",
    "_JSONFormatter",
    "_JSON_CORE_KEYS",
    "_JSON_RENAMES",
    "_LEVELS",
    "_LEVEL_STYLES",
    "_MAGENTA",
    "_NEEDS_QUOTES",
    "_NO_COLOR_VARIABLES",
    "_NO_HANDLER_CONTEXT",
    "_PythonLoggingFormatter",
    "_RECORD_ATTRIBUTES",
    "_RESET",
    "_RootHandler",
    "_StructuredMessage",
    "_TomodachiFormatter",
    "_add_internal_files",
    "_capture_exc_info",
    "_console_value",
    "_current_custom_logger",
    "_custom_logger",
    "_default_formatter",
    "_entry",
    "_exception_fields",
    "_format_exception",
    "_format_positional",
    "_forward",
    "_import_target",
    "_installed_handlers",
    "_is_missing",
    "_json_default",
    "_json_safe",
    "_last_second",
    "_message_text",
    "_method_name",
    "_module_name",
    "_parse_level",
    "_printable",
    "_report_failure",
    "_resolve_formatter",
    "_stacklevel",
    "_stdlib_call",
    "_target_logger",
    "_timestamp",
)

UPSTREAM = (
    "DEFAULT_FORMAT",
    "DefaultHandler",
    "DefaultRootLoggerHandler",
    "TOMODACHI_CUSTOM_LOGGER",
    "TOMODACHI_LOGGER_TYPE",
    "_defaultHandler",
    "_get_logger",
    "CRITICAL",
    "DEBUG",
    "ERROR",
    "FATAL",
    "INFO",
    "NOTSET",
    "WARN",
    "WARNING",
)


@pytest.mark.parametrize("name", PUBLIC + PRIVATE + UPSTREAM)
def test_every_name_is_importable_from_the_package(name: str) -> None:
    assert hasattr(tlog, name)


def test_public_names_are_listed_in_all() -> None:
    assert {*PUBLIC, "Logger", "TOMODACHI_LOGGER_TYPE", "DefaultHandler"} <= set(tlog.__all__)


def test_importing_the_package_loads_none_of_its_modules() -> None:
    code = "import sys, tomodachi.logging; print(sorted(m for m in sys.modules if m.startswith('tomodachi.logging.')))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=True)
    assert result.stdout.strip() == "[]"
