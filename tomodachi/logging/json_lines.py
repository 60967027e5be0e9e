"""The JSON formatter: one object per line, core keys first, exception fields, values JSON cannot encode as text."""

from __future__ import annotations

import datetime
import json
import traceback
from types import TracebackType
from typing import Any

from tomodachi.logging.entries import _Entry, _ExcInfo, _format_exception, _TomodachiFormatter

_JSON_RENAMES = {"event_": "event", "class_": "class"}
_JSON_CORE_KEYS = ("timestamp", "logger", "level", "message")


def _json_default(value: object) -> object:
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


def _exception_fields(exc_info: _ExcInfo) -> dict[str, object]:
    exc_type, exc, tb = exc_info
    frames = traceback.extract_tb(tb)
    fields: dict[str, object] = {
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
    """One JSON object per line; non-serialisable values fall back to a string form. ``message`` is left out
    only when a structured event was logged without one."""

    _logger_type = "json"
    _export_name = "JSONFormatter"

    def render(self, entry: _Entry) -> str:
        data: dict[str, Any] = {"timestamp": entry.timestamp, "logger": entry.logger, "level": entry.level}
        if entry.message_given:
            data["message"] = entry.message
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


def _json_safe(value: object) -> object:
    try:
        json.dumps(value, default=_json_default)
        return value
    except Exception:
        try:
            return repr(value)
        except Exception:
            return object.__repr__(value)
