"""The custom logger (``--custom-logger``): resolving it, and forwarding each record to it."""

from __future__ import annotations

import logging
import os
from contextvars import ContextVar
from typing import Any

from tomodachi.logging.entries import _entry
from tomodachi.logging.records import method_for_level as _method_name


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


def custom_logger() -> object | None:
    """The custom logger set with ``set_custom_logger()`` (upstream: ``TOMODACHI_CUSTOM_LOGGER``), if any."""
    return _custom_logger


def _current_custom_logger() -> object:
    if _custom_logger is None:
        from_env = os.environ.get("TOMODACHI_CUSTOM_LOGGER", "").strip()
        if not from_env:
            raise ValueError("no custom logger set: use --custom-logger <module[.attr]> or set_custom_logger()")
        set_custom_logger(from_env)
    return _custom_logger


def _target_logger(target: object, name: str) -> object:
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
    """Hand ``record`` to the custom logger: ``<logger>.<level>(message, logger=…, **fields, timestamp=…)``
    (plus ``exc_info`` and ``stack_info``), the keywords upstream's custom loggers receive."""
    if target is logging:
        return  # the record is a stdlib record already: the application's own handlers render it
    entry = _entry(record)
    fields: dict[str, Any] = {"logger": record.name}
    fields.update((key, value) for key, value in entry.fields.items() if value is not Ellipsis and key != "logger")
    if entry.exc_info:
        fields["exc_info"] = entry.exc_info
    if entry.stack_info:
        fields["stack_info"] = entry.stack_info
    fields.setdefault("timestamp", entry.timestamp)
    getattr(_target_logger(target, record.name), _method_name(record.levelno))(entry.message, **fields)
