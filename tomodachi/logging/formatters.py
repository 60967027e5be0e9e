"""The formatter objects (``ConsoleFormatter``, ``JSONFormatter`` …) and the names ``configure()`` knows them by."""

from __future__ import annotations

import logging

from tomodachi.logging.console import _ConsoleFormatter
from tomodachi.logging.json_lines import _JSONFormatter

# upstream's stdlib format; tomodachi's ``python`` formatter adds the fields after the message
DEFAULT_FORMAT = "%(asctime)s [%(levelname)-9s] %(message)-30s [%(name)s]"


class _PythonLoggingFormatter(logging.Formatter):
    """The stdlib format; structured fields appear as ``k=v`` after the message."""

    _logger_type = "python"

    def __init__(self) -> None:
        super().__init__(DEFAULT_FORMAT)

    def __repr__(self) -> str:
        return "PythonLoggingFormatter"


class _DisabledFormatter(logging.Formatter):
    _logger_type = "disabled"

    def format(self, record: logging.LogRecord) -> str:
        return ""

    def __repr__(self) -> str:
        return "DisabledFormatter"


class _CustomLoggerFormatter(_ConsoleFormatter):
    """Marks a tomodachi handler as forwarding every record to the custom logger (``set_custom_logger``).
    On any other handler it renders like the no-color console formatter."""

    def __init__(self) -> None:
        super().__init__(colors=False, logger_type="custom", export_name="CustomLoggerFormatter")


ConsoleFormatter: logging.Formatter = _ConsoleFormatter(colors=True, export_name="ConsoleFormatter")
NoColorConsoleFormatter: logging.Formatter = _ConsoleFormatter(
    colors=False, logger_type="no_color_console", export_name="NoColorConsoleFormatter"
)
JSONFormatter: logging.Formatter = _JSONFormatter()
PythonLoggingFormatter: logging.Formatter = _PythonLoggingFormatter()
DisabledFormatter: logging.Formatter = _DisabledFormatter()
CustomLoggerFormatter: logging.Formatter = _CustomLoggerFormatter()

_FORMATTER_NAMES = ("console", "no_color_console", "json", "python", "disabled", "custom")

_BY_NAME: dict[str, logging.Formatter] = {
    "console": ConsoleFormatter,
    "no_color_console": NoColorConsoleFormatter,
    "nocolor_console": NoColorConsoleFormatter,
    "json": JSONFormatter,
    "python": PythonLoggingFormatter,
    "python_logging": PythonLoggingFormatter,
    "disabled": DisabledFormatter,
    "custom": CustomLoggerFormatter,
}


def formatter_named(name: str) -> logging.Formatter:
    """The formatter ``configure()`` means by ``name`` (``"console"``, ``"json"`` …); ``ValueError`` if none."""
    formatter = _BY_NAME.get(name.strip().lower().replace("-", "_"))
    if formatter is None:
        raise ValueError(f"invalid log formatter {name!r}; expected one of {', '.join(_FORMATTER_NAMES)}")
    return formatter


def logger_type_of(formatter: logging.Formatter | None) -> str:
    """The name of ``formatter`` as ``TOMODACHI_LOGGER_TYPE`` gives it; any other formatter counts as ``python``."""
    return str(getattr(formatter, "_logger_type", "") or "python")
