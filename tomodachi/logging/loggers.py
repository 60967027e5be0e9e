"""``get_logger()``: structured loggers (structlog, imported on the first call), and the protocol they meet."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:  # structlog is imported on the first get_logger(), not at startup
    from tomodachi.logging.structlog_logger import Logger


@runtime_checkable
class LoggerProtocol(Protocol):
    def debug(self, event: str | None = None, *args: object, **kw: object) -> object: ...
    def info(self, event: str | None = None, *args: object, **kw: object) -> object: ...
    def warning(self, event: str | None = None, *args: object, **kw: object) -> object: ...
    def error(self, event: str | None = None, *args: object, **kw: object) -> object: ...
    def exception(self, event: str | None = None, *args: object, **kw: object) -> object: ...
    def critical(self, event: str | None = None, *args: object, **kw: object) -> object: ...


def get_logger(name: str | None = None) -> Logger:
    """A structured logger named ``name`` (e.g. ``"tomodachi.lifecycle"``), starting from the fields last bound
    on a logger of that name in the current context; without a name it follows the current handler context
    (``bind_handler_context``), falling back to the ``"default"`` logger."""
    from tomodachi.logging.structlog_logger import new_logger

    return new_logger(name)


getLogger = get_logger  # upstream's camel-case name
