"""``configure()`` and ``set_default_formatter()``: the root level, and the handler and formatter lines go through."""

from __future__ import annotations

import logging
import sys
from typing import IO

from tomodachi.logging.formatters import ConsoleFormatter, CustomLoggerFormatter, formatter_named, logger_type_of
from tomodachi.logging.handler import DefaultHandler, _RootHandler
from tomodachi.logging.records import _LEVELS

# what configure() without a formatter uses: a name or a formatter, resolved at each configure()
_default_formatter: str | logging.Formatter = "console"

# libraries whose DEBUG output carries credentials and payloads; kept at INFO or above by configure()
WIRE_LOGGERS = ("botocore", "aiobotocore", "boto3", "urllib3")


def _resolve_formatter(formatter: str | logging.Formatter) -> logging.Formatter:
    if isinstance(formatter, logging.Formatter):
        return formatter
    if not isinstance(formatter, str):
        raise TypeError(f"invalid log formatter {formatter!r}: expected a formatter name or a logging.Formatter")
    chosen = formatter_named(formatter)
    if chosen is CustomLoggerFormatter:
        from tomodachi.logging.custom import _current_custom_logger

        if _current_custom_logger() in (sys.modules.get("tomodachi.logging"), sys.modules.get("tomodachi")):
            return ConsoleFormatter  # tomodachi.logging itself: nothing to forward to
    return chosen


def _parse_level(log_level: str | int) -> int:
    if isinstance(log_level, int) and not isinstance(log_level, bool):
        return log_level
    if isinstance(log_level, str):
        text = log_level.strip().lower()
        if text.isdigit():
            return int(text)
        if text in _LEVELS and text != "exception":
            return _LEVELS[text]
        if text == "notset":
            return logging.NOTSET
    raise ValueError(f"invalid log level {log_level!r}; expected one of debug, info, warning, error, critical")


def _installed_handlers() -> list[_RootHandler]:
    return [handler for handler in logging.getLogger().handlers if handler is DefaultHandler]


def configure(
    log_level: str | int = "info",
    formatter: str | logging.Formatter | None = None,
    *,
    stream: IO[str] | None = None,
) -> logging.Handler:
    """Install ``DefaultHandler`` on the root logger (once: calling again reconfigures it) and set the root level.

    ``formatter``: ``console`` (colored on a tty), ``no_color_console``, ``json``, ``python``, ``disabled``,
    ``custom`` (forward to ``set_custom_logger()``'s target) or a ``logging.Formatter``; without one, the default
    formatter (``set_default_formatter``; ``console`` unless set). Safe to call repeatedly.
    """
    level = _parse_level(log_level)
    chosen = _resolve_formatter(formatter if formatter is not None else _default_formatter)
    DefaultHandler.direct_to(stream)
    DefaultHandler.setFormatter(chosen)
    root = logging.getLogger()
    if DefaultHandler not in root.handlers:
        root.addHandler(DefaultHandler)
    root.setLevel(level)
    for name in WIRE_LOGGERS:
        wire = logging.getLogger(name)
        # a level the user set is theirs; NOTSET, or the level an earlier configure() set, is ours to adjust
        if wire.level in (logging.NOTSET, getattr(wire, "_tomodachi_capped", logging.NOTSET)):
            # their DEBUG lines hold message bodies, access key ids and request signatures: opt in explicitly
            # (logging.getLogger("botocore").setLevel(logging.DEBUG)) to see them
            wire.setLevel(max(level, logging.INFO))
            wire._tomodachi_capped = wire.level  # type: ignore[attr-defined]
    return DefaultHandler


def set_default_formatter(
    _formatter: str | logging.Formatter | None = None,
    /,
    *,
    logger_type: str | None = None,
    formatter: logging.Formatter | None = None,
) -> None:
    """Render with this formatter from now on: ``DefaultHandler``'s, and the one later ``configure()`` calls
    without a formatter use. Given by name (positionally or as ``logger_type=``) or as a ``logging.Formatter``
    (positionally or as ``formatter=``): one of them, or none to apply the current default again."""
    global _default_formatter
    if sum(value is not None for value in (_formatter, logger_type, formatter)) > 1:
        raise TypeError("set_default_formatter() takes one of: a formatter name or object, logger_type=, formatter=")
    if logger_type is not None and not isinstance(logger_type, str):
        raise TypeError(f"invalid logger_type {logger_type!r}: expected a formatter name")
    if formatter is not None and not isinstance(formatter, logging.Formatter):
        raise TypeError(f"invalid formatter {formatter!r}: expected a logging.Formatter")
    given = _formatter if _formatter is not None else logger_type if logger_type is not None else formatter
    if given is None:
        given = _default_formatter
    DefaultHandler.setFormatter(_resolve_formatter(given))
    _default_formatter = given


def default_logger_type() -> str:
    """The name of ``DefaultHandler``'s formatter (upstream's ``TOMODACHI_LOGGER_TYPE``): ``console``, ``json`` …,
    or ``python`` for a formatter of your own."""
    return logger_type_of(DefaultHandler.formatter)


def remove_handlers() -> None:
    """Take ``DefaultHandler`` off the root logger (other root handlers are left alone); wherever else it stays
    attached, it writes to ``sys.stderr`` again."""
    root = logging.getLogger()
    for handler in _installed_handlers():
        root.removeHandler(handler)
    DefaultHandler.direct_to(None)


def default_formatter() -> str | logging.Formatter:
    """What ``configure()`` without a formatter uses (``set_default_formatter``)."""
    return _default_formatter
