"""tomodachi's stream handler (``StderrHandler``) and ``DefaultHandler``, the one ``configure()`` installs on root."""

from __future__ import annotations

import logging
import sys
from typing import IO

from tomodachi.logging.console import colors_enabled
from tomodachi.logging.formatters import (
    ConsoleFormatter,
    NoColorConsoleFormatter,
    _CustomLoggerFormatter,
    _DisabledFormatter,
)


class _RootHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A handler rendering with tomodachi's formatters. Without an explicit stream it writes to whatever
    ``sys.stderr`` is at emit time, so redirection (pytest's capsys) is honoured.

    With ``ConsoleFormatter`` it colors only where ``colors_enabled()`` says so for its stream; with
    ``DisabledFormatter`` it writes nothing; with ``CustomLoggerFormatter`` it hands every record to the custom
    logger instead of writing it."""

    def __init__(self, level: int = logging.NOTSET, *, stream: IO[str] | None = None) -> None:
        super().__init__(stream if stream is not None else self._standard_stream())
        self.setLevel(level)
        self._follows_standard_stream = stream is None
        self._colors_for: object = None  # the stream self._colors was decided for
        self._colors = False

    @staticmethod
    def _standard_stream() -> IO[str]:
        return sys.stderr

    def direct_to(self, stream: IO[str] | None) -> None:
        """Write to ``stream`` from now on; ``None``: to whatever ``sys.stderr`` is at each record."""
        self.acquire()
        try:
            try:
                self.flush()
            except (OSError, ValueError):  # the stream it wrote to is closed already (a test's capture, a file)
                pass
            self._follows_standard_stream = stream is None
            self.stream = stream if stream is not None else self._standard_stream()
            self._colors_for = None
        finally:
            self.release()

    def setFormatter(self, fmt: logging.Formatter | None) -> None:  # noqa: N802 - the stdlib's name
        super().setFormatter(fmt)
        self._colors_for = None  # decided again at the next record, so color settings changed since then count

    def emit(self, record: logging.LogRecord) -> None:
        formatter = self.formatter
        if isinstance(formatter, _DisabledFormatter):
            return
        if isinstance(formatter, _CustomLoggerFormatter):
            self._emit_custom(record)
            return
        if self._follows_standard_stream:
            self.stream = self._standard_stream()
        super().emit(record)

    def format(self, record: logging.LogRecord) -> str:
        if self.formatter is ConsoleFormatter and not self._colored():
            return NoColorConsoleFormatter.format(record)
        return super().format(record)

    def _colored(self) -> bool:
        stream = self.stream
        if stream is not self._colors_for:
            self._colors = colors_enabled(stream)
            self._colors_for = stream
        return self._colors

    def _emit_custom(self, record: logging.LogRecord) -> None:
        from tomodachi.logging.custom import _FORWARDING, _current_custom_logger, _forward

        # A custom logger writing through stdlib logging sends its records back here: those are left to the
        # application's handlers instead of going round again.
        if _FORWARDING.get():
            return
        token = _FORWARDING.set(True)
        try:
            _forward(record, _current_custom_logger())
        except Exception:
            self.handleError(record)
        finally:
            _FORWARDING.reset(token)


class _StdoutHandler(_RootHandler):
    """The same, following ``sys.stdout``: where upstream's ``_get_logger(logger_type=...)`` loggers print."""

    @staticmethod
    def _standard_stream() -> IO[str]:
        return sys.stdout


# upstream's name for the handler class its test suites install on the root logger
StderrHandler = _RootHandler

# the handler configure() installs on the root logger; its formatter is the default one (set_default_formatter)
DefaultHandler: _RootHandler = _RootHandler()
DefaultHandler.setFormatter(ConsoleFormatter)
DefaultRootLoggerHandler = _defaultHandler = DefaultHandler  # upstream's other names for it
