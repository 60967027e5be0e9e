"""The console formatter (``<ts> [<level>] <message> [<logger>] k=v …``) and when its colors are on."""

from __future__ import annotations

import os
import re
import sys
from typing import IO

from tomodachi.logging.entries import _Entry, _format_exception, _TomodachiFormatter
from tomodachi.logging.text import _CONTROL, _console_value, _printable, line_fields

# ANSI styles; kept tiny on purpose (no colorama dependency).
_RESET = "\x1b[0m"
_DIM = "\x1b[2m"
_BRIGHT = "\x1b[1m"
_BLUE = "\x1b[34m"
_CYAN = "\x1b[36m"
_MAGENTA = "\x1b[35m"
_LEVEL_STYLES = {
    "debug": "\x1b[32m",
    "info": "\x1b[32m",
    "warning": "\x1b[33m",
    "error": "\x1b[31m",
    "critical": "\x1b[31;1m",
}

# a value needing neither quotes (whitespace, "=") nor escapes (control characters): shown as it is
_PLAIN = re.compile(r"[^\s=\x00-\x08\x0b-\x1f\x7f-\x9f]+\Z")

_NO_COLOR_VARIABLES = ("NO_COLOR", "NOCOLOR", "TOMODACHI_NO_COLOR", "TOMODACHI_NOCOLOR")
_CLICOLOR_VARIABLES = ("CLICOLOR", "CLI_COLOR", "CLICOLOR_FORCE")


def colors_enabled(stream: IO[str] | None = None) -> bool:
    """Whether console output should be colored: off via NO_COLOR-style variables or a non-tty."""
    env = os.environ
    if any(env.get(name, "").strip().lower() in ("1", "true") for name in _NO_COLOR_VARIABLES):
        return False
    if any(env.get(name, "").strip().lower() in ("0", "false") for name in _CLICOLOR_VARIABLES):
        return False
    if env.get("CLICOLOR_FORCE", "").strip().lower() in ("1", "true"):
        return True
    stream = sys.stderr if stream is None else stream
    try:
        return bool(stream.isatty())
    except Exception:
        return False


class _ConsoleFormatter(_TomodachiFormatter):
    """``<ts> [<level>] <message padded 30> [<logger>] k=v …`` plus a traceback on following lines."""

    def __init__(self, colors: bool, logger_type: str = "console", export_name: str = "") -> None:
        super().__init__()
        self.colors = colors
        self._logger_type = logger_type
        self._export_name = export_name

        # "key=" (painted) per field name: the same few names come back on every line
        self._keys: dict[str, str] = {}
        self._heads: dict[tuple[str, str, str], str] = {}
        self._value_style = (_MAGENTA, _RESET) if colors else ("", "")

    def _paint(self, style: str, text: str) -> str:
        return f"{style}{text}{_RESET}" if self.colors else text

    def _key(self, key: str) -> str:
        painted = self._keys.get(key)
        if painted is None:
            painted = f"{self._paint(_CYAN, _printable(key))}="
            if len(self._keys) < 1024:
                self._keys[key] = painted
        return painted

    def _head(self, level_name: str, message: str, logger: str) -> str:
        """``[<level>] <message padded 30> [<logger>]``: the same few come back on every line of a logger."""
        key = (level_name, message, logger)
        head = self._heads.get(key)
        if head is None:
            level = self._paint(_LEVEL_STYLES.get(level_name, ""), f"{level_name:<9}")
            shown = self._paint(_BRIGHT, f"{_printable(message):<30}")
            head = f"[{level}] {shown} [{self._paint(_BLUE, logger)}]"
            if len(self._heads) < 1024 and len(message) <= 80:
                self._heads[key] = head
        return head

    def render(self, entry: _Entry) -> str:
        timestamp = f"{_DIM}{entry.timestamp}{_RESET}" if self.colors else entry.timestamp
        parts = [timestamp, self._head(entry.level, entry.message, entry.logger)]
        before, after = self._value_style
        keys = self._keys
        append = parts.append
        # one line per request in an access log: the common values (a plain str, an int, None) are shown here
        # directly; everything else as ``line_fields`` and ``_console_value`` show it
        for key, value in entry.fields.items():
            kind = type(value)
            if type(value) is str and _PLAIN.match(value):  # the common value, shown as it is
                shown = value
            elif kind is int or value is None:
                shown = str(value)
            elif value is Ellipsis:
                continue
            elif key == "extra" and kind is dict:
                for extra_key, extra_value in line_fields({"extra": value}):
                    append(f"{keys.get(extra_key) or self._key(extra_key)}{before}{self._shown(extra_value)}{after}")
                continue
            else:
                shown = self._shown(value)
            append(f"{keys.get(key) or self._key(key)}{before}{shown}{after}")
        line = " ".join(parts).rstrip()
        if entry.stack_info:
            line += "\n" + entry.stack_info
        if entry.exc_info:
            line += "\n" + _format_exception(entry.exc_info)
        return line

    @staticmethod
    def _shown(value: object) -> str:
        shown = _console_value(value)
        return _printable(shown) if _CONTROL.search(shown) else shown
