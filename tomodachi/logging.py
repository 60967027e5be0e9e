"""Structured logging: structlog loggers over the stdlib, one stderr root handler, console/json formatters.

structlog events and plain stdlib records (aiohttp, botocore, user code) render through the same formatter.
Nothing here configures logging at import time; the CLI (or a test) calls ``configure()``.
"""

from __future__ import annotations

import datetime
import json
import logging
import os
import re
import sys
import traceback
from collections.abc import Mapping
from contextvars import ContextVar, Token
from types import FrameType, TracebackType
from typing import IO, TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:  # structlog is imported on the first get_logger(), not at startup
    from structlog.typing import EventDict, WrappedLogger

    from tomodachi._logging_structlog import Logger

__all__ = [
    "ConsoleFormatter",
    "CustomLoggerError",
    "CustomLoggerFormatter",
    "DisabledFormatter",
    "JSONFormatter",
    "Logger",
    "LoggerProtocol",
    "StderrHandler",
    "NoColorConsoleFormatter",
    "PythonLoggingFormatter",
    "bind_handler_context",
    "colors_enabled",
    "configure",
    "get_handler_context",
    "get_logger",
    "getLogger",
    "remove_handlers",
    "reset_context",
    "resolve_custom_logger",
    "set_custom_logger",
    "set_custom_logger_factory",
    "set_default_formatter",
]

_ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]

_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "warn": logging.WARNING,
    "error": logging.ERROR,
    "exception": logging.ERROR,
    "critical": logging.CRITICAL,
    "fatal": logging.CRITICAL,
}


# --- handler context ---------------------------------------------------------------------------------------------


class _HandlerContext:
    """What ``bind_handler_context`` binds. A plain class, not a dataclass: building dataclasses costs startup."""

    __slots__ = ("logger_name", "fields")

    def __init__(self, logger_name: str | None = None, fields: Mapping[str, Any] | None = None) -> None:
        self.logger_name = logger_name
        self.fields: Mapping[str, Any] = fields if fields is not None else {}


_NO_HANDLER_CONTEXT = _HandlerContext()
_HANDLER_CONTEXT: ContextVar[_HandlerContext] = ContextVar("tomodachi_handler_context", default=_NO_HANDLER_CONTEXT)


class bind_handler_context:  # noqa: N801 - used like the function it replaced: ``with bind_handler_context(...)``
    """Bind fields (and optionally the logger name) seen by ``get_logger()`` without a name, for the duration
    of a handler call. Nests: inner bindings add to (and override) outer ones.

    Example: ``with bind_handler_context("tomodachi.http.handler", handler="index", type="tomodachi.http"):``

    A class rather than a generator-based context manager: it runs around every handler call.
    """

    __slots__ = ("_logger_name", "_fields", "_token")

    def __init__(self, logger_name: str | None = None, /, **fields: Any) -> None:
        self._logger_name = logger_name
        self._fields = fields
        self._token: Token[_HandlerContext] | None = None

    def __enter__(self) -> None:
        current = _HANDLER_CONTEXT.get()
        fields = {**current.fields, **self._fields} if current.fields else self._fields
        self._token = _HANDLER_CONTEXT.set(_HandlerContext(self._logger_name or current.logger_name, fields))

    def __exit__(self, *exc_info: object) -> None:
        if self._token is None:
            return
        try:
            _HANDLER_CONTEXT.reset(self._token)
        except ValueError:  # exited in another context (e.g. a generator finalised elsewhere); nothing to undo
            pass


def get_handler_context() -> dict[str, Any]:
    """The fields currently bound by ``bind_handler_context`` (a copy)."""
    return dict(_HANDLER_CONTEXT.get().fields)


def reset_context() -> None:
    """Forget every field bound in the current context (upstream's name; its test suites call it between tests)."""
    _HANDLER_CONTEXT.set(_NO_HANDLER_CONTEXT)


# --- structlog side: from a logger call to a stdlib LogRecord ------------------------------------------------------


class _StructuredMessage:
    """``LogRecord.msg`` of structlog events; str() gives ``message k=v …`` for handlers that are not ours."""

    __slots__ = ("fields",)

    def __init__(self, fields: dict[str, Any]) -> None:
        self.fields = fields

    def __str__(self) -> str:
        fields = dict(self.fields)
        message = _message_text(fields.pop("event", None))
        pairs = " ".join(f"{key}={_console_value(value)}" for key, value in fields.items() if value is not Ellipsis)
        return f"{message} {pairs}" if pairs else message


def _message_text(event: Any) -> str:
    if event is None:
        return ""
    try:
        return event if isinstance(event, str) else str(event)
    except Exception:
        return object.__repr__(event)


def _format_positional(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
    args = event_dict.pop("positional_args", None)
    if args:
        event = event_dict.get("event")
        try:
            event_dict["event"] = str(event) % (args[0] if len(args) == 1 and isinstance(args[0], Mapping) else args)
        except Exception:
            event_dict["event"] = f"{event} {args!r}"
    return event_dict


def _capture_exc_info(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
    # Resolve exc_info=True now, while the exception is still being handled.
    exc_info = event_dict.get("exc_info")
    if exc_info is True:
        info = sys.exc_info()
        event_dict["exc_info"] = info if info[0] is not None else None
    elif isinstance(exc_info, BaseException):
        event_dict["exc_info"] = (type(exc_info), exc_info, exc_info.__traceback__)
    elif exc_info is not None and not (isinstance(exc_info, tuple) and len(exc_info) == 3):
        event_dict["exc_info"] = None
    return event_dict


# files whose frames a record's caller skips: this module, then structlog and its Logger once they are imported
_INTERNAL_FILES: tuple[str, ...] = (__file__,)


def _add_internal_files(*paths: str) -> None:
    global _INTERNAL_FILES
    _INTERNAL_FILES = (*_INTERNAL_FILES, *(path for path in paths if path not in _INTERNAL_FILES))


def _stacklevel(frame: FrameType) -> int:
    """The ``stacklevel`` that makes the stdlib record point at the user's call: ``frame`` is the one calling the
    stdlib logger (stacklevel 1); every further logging-internal frame outward adds one."""
    level = 1
    while frame.f_back is not None and frame.f_code.co_filename.startswith(_INTERNAL_FILES):
        frame = frame.f_back
        level += 1
    return level


def _stdlib_call(event_dict: EventDict, caller: FrameType) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """The positional and keyword arguments of the stdlib logger call made from frame ``caller``."""
    exc_info = event_dict.pop("exc_info", None)
    stack_info = bool(event_dict.pop("stack_info", False))
    stacklevel = 1
    if sys.version_info >= (3, 11):  # earlier findCaller() counts frames differently; keep its default there
        try:
            stacklevel = _stacklevel(caller)
        except Exception:
            pass
    kwargs = {"exc_info": exc_info, "stack_info": stack_info, "stacklevel": stacklevel}
    return (_StructuredMessage(dict(event_dict)),), kwargs


def _report_failure(event: Any) -> None:
    try:
        sys.stderr.write(f"--- tomodachi: logging failed for event {event!r} ---\n{traceback.format_exc()}")
    except Exception:
        pass


@runtime_checkable
class LoggerProtocol(Protocol):
    def debug(self, event: str | None = None, *args: Any, **kw: Any) -> Any: ...
    def info(self, event: str | None = None, *args: Any, **kw: Any) -> Any: ...
    def warning(self, event: str | None = None, *args: Any, **kw: Any) -> Any: ...
    def error(self, event: str | None = None, *args: Any, **kw: Any) -> Any: ...
    def exception(self, event: str | None = None, *args: Any, **kw: Any) -> Any: ...
    def critical(self, event: str | None = None, *args: Any, **kw: Any) -> Any: ...


def get_logger(name: str | None = None) -> Logger:
    """A structured logger named ``name`` (e.g. ``"tomodachi.lifecycle"``); without a name it follows the
    current handler context (``bind_handler_context``), falling back to the ``"tomodachi"`` logger."""
    from tomodachi._logging_structlog import new_logger

    return new_logger(name)


def __getattr__(name: str) -> Any:
    # ``Logger`` (a structlog BoundLogger subclass) is built on first use so that importing this module stays cheap
    if name == "Logger":
        from tomodachi._logging_structlog import Logger

        return Logger
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class FrameworkLogger:
    """The framework's own lines (lifecycle, HTTP): the same records as ``get_logger(name)`` makes, without
    importing structlog, so starting a service does not pay for it. Not a structlog logger: no ``bind()``."""

    __slots__ = ("_logger",)

    def __init__(self, name: str) -> None:
        self._logger = logging.getLogger(name)

    @property
    def name(self) -> str:
        return self._logger.name

    def debug(self, event: str | None = None, *args: Any, **kw: Any) -> None:
        self._emit("debug", event, args, kw)

    def info(self, event: str | None = None, *args: Any, **kw: Any) -> None:
        self._emit("info", event, args, kw)

    def warning(self, event: str | None = None, *args: Any, **kw: Any) -> None:
        self._emit("warning", event, args, kw)

    def error(self, event: str | None = None, *args: Any, **kw: Any) -> None:
        self._emit("error", event, args, kw)

    def exception(self, event: str | None = None, *args: Any, **kw: Any) -> None:
        kw.setdefault("exc_info", True)
        self._emit("exception", event, args, kw)

    def critical(self, event: str | None = None, *args: Any, **kw: Any) -> None:
        self._emit("critical", event, args, kw)

    def _emit(self, method_name: str, event: str | None, args: tuple[Any, ...], kw: dict[str, Any]) -> None:
        # the steps of the structlog processor chain of get_logger(), in the same order
        try:
            logger = self._logger
            if not logger.isEnabledFor(_LEVELS[method_name]):
                return
            event_dict: EventDict = dict(kw)
            if args:
                event_dict["positional_args"] = args
            if event is not None:
                event_dict["event"] = event
            contextvars_module = sys.modules.get("structlog.contextvars")
            if contextvars_module is not None:  # only bound if the application imported structlog
                event_dict = contextvars_module.merge_contextvars(logger, method_name, event_dict)
            event_dict = _format_positional(logger, method_name, event_dict)
            event_dict = _capture_exc_info(logger, method_name, event_dict)
            call_args, call_kwargs = _stdlib_call(event_dict, sys._getframe(0))
            getattr(logger, method_name)(*call_args, **call_kwargs)
        except Exception:
            _report_failure(event)


def framework_logger(name: str) -> FrameworkLogger:
    """The logger for the framework's own lines; see ``FrameworkLogger``."""
    return FrameworkLogger(name)


# --- formatter side: from a LogRecord to a line --------------------------------------------------------------------

_RECORD_ATTRIBUTES = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}


class _Entry:
    """A record as the formatters see it (plain class: see ``_HandlerContext``)."""

    __slots__ = ("timestamp", "level", "logger", "message", "fields", "exc_info", "stack_info")

    def __init__(
        self,
        timestamp: str,
        level: str,
        logger: str,
        message: str,
        fields: dict[str, Any],
        exc_info: _ExcInfo | None,
        stack_info: str | None,
    ) -> None:
        self.timestamp = timestamp
        self.level = level
        self.logger = logger
        self.message = message
        self.fields = fields
        self.exc_info = exc_info
        self.stack_info = stack_info


_last_second: list[Any] = [None, ""]  # the whole second last formatted, and its text up to the fraction


def _timestamp(created: float) -> str:
    second = int(created)
    if second != _last_second[0]:
        moment = datetime.datetime.fromtimestamp(second, datetime.timezone.utc)
        _last_second[:] = [second, moment.strftime("%Y-%m-%dT%H:%M:%S.")]
    micros = int(round((created - second) * 1_000_000))
    if micros >= 1_000_000:  # rounding reached the next second
        return _timestamp(float(second + 1))
    return f"{_last_second[1]}{micros:06d}Z"


def _entry(record: logging.LogRecord) -> _Entry:
    if isinstance(record.msg, _StructuredMessage):
        fields = dict(record.msg.fields)
        message = _message_text(fields.pop("event", None))
    else:
        try:
            message = record.getMessage()
        except Exception:
            message = f"{record.msg} {record.args!r}"
        extra = {k: v for k, v in record.__dict__.items() if k not in _RECORD_ATTRIBUTES and not k.startswith("_")}
        fields = {"extra": extra} if extra else {}
    exc_info = record.exc_info if record.exc_info and record.exc_info[0] is not None else None
    return _Entry(
        _timestamp(record.created),
        record.levelname.lower(),
        record.name,
        message,
        fields,
        exc_info,  # type: ignore[arg-type]
        record.stack_info,
    )


def _format_exception(exc_info: _ExcInfo) -> str:
    return "".join(traceback.format_exception(*exc_info)).rstrip("\n")


class _TomodachiFormatter(logging.Formatter):
    """Base of the console and JSON formatters; a failing render falls back to a minimal safe line."""

    def render(self, entry: _Entry) -> str:
        raise NotImplementedError

    def format(self, record: logging.LogRecord) -> str:
        try:
            return self.render(_entry(record))
        except Exception as exc:
            return f"{_timestamp(record.created)} [{record.levelname.lower()}] {record.msg!r} [{record.name}] (log formatting failed: {exc!r})"


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


_NEEDS_QUOTES = re.compile(r"[\s=]")


def _console_value(value: Any) -> str:
    if type(value) is str:
        # Quote only when needed to keep k=v pairs unambiguous.
        return value if value and not _NEEDS_QUOTES.search(value) else repr(value)
    if value is None or type(value) is int:
        return str(value)
    try:
        return repr(value)
    except Exception:
        return object.__repr__(value)


class _ConsoleFormatter(_TomodachiFormatter):
    """``<ts> [<level>] <message padded 30> [<logger>] k=v …`` plus a traceback on following lines."""

    def __init__(self, colors: bool) -> None:
        super().__init__()
        self.colors = colors

        # "key=" (painted) per field name: the same few names come back on every line
        self._keys: dict[str, str] = {}
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

    def render(self, entry: _Entry) -> str:
        level = self._paint(_LEVEL_STYLES.get(entry.level, ""), f"{entry.level:<9}")
        parts = [
            self._paint(_DIM, entry.timestamp),
            f"[{level}]",
            self._paint(_BRIGHT, f"{_printable(entry.message):<30}"),
            f"[{self._paint(_BLUE, entry.logger)}]",
        ]
        before, after = self._value_style
        keys = self._keys
        for key, value in entry.fields.items():
            if value is Ellipsis:
                continue
            shown = value if type(value) is str and value and not _NEEDS_QUOTES.search(value) else _console_value(value)
            if _CONTROL.search(shown):
                shown = _printable(shown)
            parts.append(f"{keys.get(key) or self._key(key)}{before}{shown}{after}")
        line = " ".join(parts).rstrip()
        if entry.stack_info:
            line += "\n" + entry.stack_info
        if entry.exc_info:
            line += "\n" + _format_exception(entry.exc_info)
        return line


# control characters from logged data (a request path, a message body) would drive the terminal: an ESC could
# recolor, hide or rewrite earlier lines. Shown escaped instead; line breaks inside a message stay readable.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _printable(text: str) -> str:
    return _CONTROL.sub(lambda match: repr(match.group(0))[1:-1], text) if _CONTROL.search(text) else text


_JSON_RENAMES = {"event_": "event", "class_": "class"}
_JSON_CORE_KEYS = ("timestamp", "logger", "level", "message")


def _json_default(value: Any) -> Any:
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, (set, frozenset)):
        return list(value)
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, BaseException):
        return f"{type(value).__name__}: {value}"
    if type(value).__module__ in ("uuid", "decimal", "pathlib", "ipaddress"):
        return str(value)
    return repr(value)


def _exception_fields(exc_info: _ExcInfo) -> dict[str, Any]:
    exc_type, exc, tb = exc_info
    frames = traceback.extract_tb(tb)
    fields: dict[str, Any] = {
        "exception": _format_exception(exc_info),
        "exc_type": exc_type.__name__,
        "exc_message": str(exc),
    }
    if frames:
        last = frames[-1]
        module = _module_name(tb)
        fields["tb_module_name"] = module
        fields["tb_function_name"] = last.name
        fields["tb_location"] = f"{last.filename}:{last.lineno}"
    fields["stacktrace"] = [f"{frame.filename}:{frame.lineno} in {frame.name}" for frame in frames]
    return fields


def _module_name(tb: TracebackType | None) -> str:
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return str(tb.tb_frame.f_globals.get("__name__", "")) if tb is not None else ""


class _JSONFormatter(_TomodachiFormatter):
    """One JSON object per line; non-serialisable values fall back to a string form."""

    def render(self, entry: _Entry) -> str:
        data: dict[str, Any] = {
            "timestamp": entry.timestamp,
            "logger": entry.logger,
            "level": entry.level,
            "message": entry.message,
        }
        for key, value in entry.fields.items():
            if value is Ellipsis:
                continue
            key = _JSON_RENAMES.get(key, key)
            # A field named like a core key must not overwrite it; keep it with a trailing underscore.
            data[key + "_" if key in _JSON_CORE_KEYS else key] = value
        if entry.stack_info:
            data["stack_info"] = entry.stack_info
        if entry.exc_info:
            data.update(_exception_fields(entry.exc_info))
        try:
            return json.dumps(data, default=_json_default, ensure_ascii=False)
        except Exception:
            # e.g. non-str dict keys deep down or circular references: stringify field by field.
            return json.dumps({key: _json_safe(value) for key, value in data.items()}, ensure_ascii=False)


def _json_safe(value: Any) -> Any:
    try:
        json.dumps(value, default=_json_default)
        return value
    except Exception:
        try:
            return repr(value)
        except Exception:
            return object.__repr__(value)


class _PythonLoggingFormatter(logging.Formatter):
    """The stdlib format; structured fields appear as ``k=v`` after the message."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s [%(levelname)-9s] %(message)-30s [%(name)s]")


class _DisabledFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return ""


class _CustomLoggerFormatter(_ConsoleFormatter):
    """Marks tomodachi's root handler as forwarding every record to the custom logger (``set_custom_logger``).
    On any other handler it renders like the no-color console formatter."""

    def __init__(self) -> None:
        super().__init__(colors=False)


ConsoleFormatter: logging.Formatter = _ConsoleFormatter(colors=True)
NoColorConsoleFormatter: logging.Formatter = _ConsoleFormatter(colors=False)
JSONFormatter: logging.Formatter = _JSONFormatter()
PythonLoggingFormatter: logging.Formatter = _PythonLoggingFormatter()
DisabledFormatter: logging.Formatter = _DisabledFormatter()
CustomLoggerFormatter: logging.Formatter = _CustomLoggerFormatter()

_FORMATTER_NAMES = ("console", "no_color_console", "json", "python", "disabled", "custom")


# --- custom logger: forward records to the application's own logger ------------------------------------------------


class CustomLoggerError(ValueError):
    """The custom logger cannot be imported or is not one of the supported kinds."""


_CUSTOM_LOGGER_KINDS = "the logging module, a class, or an object with new(), bind() or get_logger()"
_custom_logger: object | None = None
_FORWARDING: ContextVar[bool] = ContextVar("tomodachi_custom_logger_forwarding", default=False)


def _is_missing(exc: ModuleNotFoundError, module_name: str) -> bool:
    """Whether ``exc`` says ``module_name`` (or a parent package of it) does not exist, as opposed to an import
    inside that module failing."""
    return exc.name is not None and (module_name == exc.name or module_name.startswith(exc.name + "."))


def _import_target(path: str) -> object:
    import importlib

    module_name, _, attribute = path.rpartition(".")
    if module_name:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if not _is_missing(exc, module_name):
                raise
            raise CustomLoggerError(f"cannot import custom logger {path!r}: no module named {exc.name!r}") from exc
        if hasattr(module, attribute):
            return getattr(module, attribute)
    try:  # "package.module" (or a plain "module") naming a module
        return importlib.import_module(path)
    except ModuleNotFoundError as exc:
        if not _is_missing(exc, path):
            raise
        if module_name:
            raise CustomLoggerError(
                f"cannot import custom logger {path!r}: module {module_name!r} has no attribute {attribute!r}"
            ) from exc
        raise CustomLoggerError(f"cannot import custom logger {path!r}: no module named {exc.name!r}") from exc


def resolve_custom_logger(target: str | object) -> object:
    """The custom logger named by ``target``: an import path ``module`` or ``module.attribute``, or the object
    itself. It must be ``logging``, a class, or an object with ``new()``, ``bind()`` or ``get_logger()``.

    Raises ``CustomLoggerError`` with a readable reason (missing module or attribute, error while importing it,
    unsupported kind)."""
    if isinstance(target, str):
        path = target.strip()
        if not path or any(not part.isidentifier() for part in path.split(".")):
            raise CustomLoggerError(f"invalid custom logger {target!r}: expected an import path <module[.attr]>")
        try:
            resolved = _import_target(path)
        except CustomLoggerError:
            raise
        except Exception as exc:  # the module itself fails to import
            raise CustomLoggerError(f"cannot import custom logger {path!r}: {type(exc).__name__}: {exc}") from exc
    else:
        resolved, path = target, repr(target)
    if not (
        resolved is logging
        or isinstance(resolved, type)
        or any(hasattr(resolved, name) for name in ("new", "bind", "get_logger"))
    ):
        raise CustomLoggerError(f"invalid custom logger {path}: expected {_CUSTOM_LOGGER_KINDS}")
    return resolved


def set_custom_logger(target: str | object | None) -> None:
    """Where ``configure(formatter="custom")`` forwards records: see ``resolve_custom_logger``. ``None`` unsets."""
    global _custom_logger
    _custom_logger = None if target is None else resolve_custom_logger(target)


set_custom_logger_factory = set_custom_logger  # the name upstream tomodachi uses


def _current_custom_logger() -> object:
    if _custom_logger is None:
        from_env = os.environ.get("TOMODACHI_CUSTOM_LOGGER", "").strip()
        if not from_env:
            raise ValueError("no custom logger set: use --custom-logger <module[.attr]> or set_custom_logger()")
        set_custom_logger(from_env)
    return _custom_logger


def _method_name(levelno: int) -> str:
    for threshold, name in (
        (logging.CRITICAL, "critical"),
        (logging.ERROR, "error"),
        (logging.WARNING, "warning"),
        (logging.INFO, "info"),
    ):
        if levelno >= threshold:
            return name
    return "debug"


def _target_logger(target: object, name: str) -> Any:
    context = {"logger": name}
    if isinstance(target, type):
        return target(context)
    if hasattr(target, "new"):
        return target.new(**context)
    if hasattr(target, "bind"):
        return target.bind(**context)
    factory_logger = target.get_logger()  # type: ignore[attr-defined]
    for method in ("new", "bind"):
        if hasattr(factory_logger, method):
            return getattr(factory_logger, method)(**context)
    return factory_logger


def _forward(record: logging.LogRecord, target: object) -> None:
    """Hand ``record`` to the custom logger: ``<logger>.<level>(message, **fields)`` (plus ``exc_info``)."""
    if target is logging:
        return  # the record is a stdlib record already: the application's own handlers render it
    entry = _entry(record)
    fields = {key: value for key, value in entry.fields.items() if value is not Ellipsis}
    if entry.exc_info:
        fields["exc_info"] = entry.exc_info
    if entry.stack_info:
        fields["stack_info"] = entry.stack_info
    getattr(_target_logger(target, record.name), _method_name(record.levelno))(entry.message, **fields)


# --- handler installation ------------------------------------------------------------------------------------------


def colors_enabled(stream: Any = None) -> bool:
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


_NO_COLOR_VARIABLES = ("NO_COLOR", "NOCOLOR", "TOMODACHI_NO_COLOR", "TOMODACHI_NOCOLOR")
_CLICOLOR_VARIABLES = ("CLICOLOR", "CLI_COLOR", "CLICOLOR_FORCE")


class _RootHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The single root handler tomodachi installs. Without an explicit stream it writes to whatever
    ``sys.stderr`` is at emit time, so redirection (pytest's capsys) is honoured."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        super().__init__(stream if stream is not None else sys.stderr)
        self._follow_stderr = stream is None

    def emit(self, record: logging.LogRecord) -> None:
        if isinstance(self.formatter, _DisabledFormatter):
            return
        if isinstance(self.formatter, _CustomLoggerFormatter):
            self._emit_custom(record)
            return
        if self._follow_stderr:
            self.stream = sys.stderr
        super().emit(record)

    def _emit_custom(self, record: logging.LogRecord) -> None:
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


_default_formatter: str | logging.Formatter = "console"


def _resolve_formatter(formatter: str | logging.Formatter, stream: Any) -> logging.Formatter:
    if isinstance(formatter, logging.Formatter):
        return formatter
    name = formatter.strip().lower().replace("-", "_")
    if name == "console":
        return ConsoleFormatter if colors_enabled(stream) else NoColorConsoleFormatter
    if name in ("no_color_console", "nocolor_console"):
        return NoColorConsoleFormatter
    if name == "json":
        return JSONFormatter
    if name in ("python", "python_logging"):
        return PythonLoggingFormatter
    if name == "disabled":
        return DisabledFormatter
    if name == "custom":
        if _current_custom_logger() in (sys.modules[__name__], sys.modules.get("tomodachi")):
            return _resolve_formatter("console", stream)  # tomodachi.logging itself: nothing to forward to
        return CustomLoggerFormatter
    raise ValueError(f"invalid log formatter {formatter!r}; expected one of {', '.join(_FORMATTER_NAMES)}")


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
    return [handler for handler in logging.getLogger().handlers if isinstance(handler, _RootHandler)]


def configure(
    log_level: str | int = "info",
    formatter: str | logging.Formatter | None = None,
    *,
    stream: IO[str] | None = None,
) -> logging.Handler:
    """Install the single tomodachi root handler (replacing a previous one) and set the root level.

    ``formatter``: ``console`` (default; colored on a tty), ``no_color_console``, ``json``, ``python``,
    ``disabled``, ``custom`` (forward to ``set_custom_logger()``'s target) or a ``logging.Formatter``.
    Safe to call repeatedly.
    """
    level = _parse_level(log_level)
    chosen = _resolve_formatter(formatter if formatter is not None else _default_formatter, stream)
    remove_handlers()
    handler = _RootHandler(stream)
    handler.setFormatter(chosen)
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(level)
    for name in WIRE_LOGGERS:
        wire = logging.getLogger(name)
        # a level the user set is theirs; NOTSET, or the level an earlier configure() set, is ours to adjust
        if wire.level in (logging.NOTSET, getattr(wire, "_tomodachi_capped", logging.NOTSET)):
            # their DEBUG lines hold message bodies, access key ids and request signatures: opt in explicitly
            # (logging.getLogger("botocore").setLevel(logging.DEBUG)) to see them
            wire.setLevel(max(level, logging.INFO))
            wire._tomodachi_capped = wire.level  # type: ignore[attr-defined]
    return handler


# libraries whose DEBUG output carries credentials and payloads; kept at INFO or above by configure()
WIRE_LOGGERS = ("botocore", "aiobotocore", "boto3", "urllib3")


def set_default_formatter(formatter: str | logging.Formatter) -> None:
    """Use ``formatter`` for the installed handler and for later ``configure()`` calls without one."""
    global _default_formatter
    _resolve_formatter(formatter, None)  # validate the name even when no handler is installed yet
    for handler in _installed_handlers():
        stream = None if handler._follow_stderr else handler.stream
        handler.setFormatter(_resolve_formatter(formatter, stream))
    _default_formatter = formatter


def remove_handlers() -> None:
    """Remove the handler(s) installed by ``configure()``; other root handlers are left alone."""
    root = logging.getLogger()
    for handler in _installed_handlers():
        root.removeHandler(handler)
        try:
            handler.flush()
        except Exception:
            pass


# upstream's names: `getLogger` for get_logger, and the handler class its test suites install on the root logger
getLogger = get_logger
StderrHandler = _RootHandler
