"""``trace_id`` and ``span_id`` on every log record made while a span is active: a log-record factory, so structlog
events, the framework's own lines and plain stdlib records all carry them without touching ``tomodachi.logging``."""

from __future__ import annotations

import logging
from typing import Any

from opentelemetry import trace

from tomodachi.logging.records import _StructuredMessage

# the record factory in place before ours: ours calls it, also after an uninstall that found another factory
# installed on top of ours (which still calls ours)
_previous: Any = logging.LogRecord
_active = False
_in_chain = False


def trace_fields() -> dict[str, str]:
    """The current span's ids as logged (W3C form: 32 and 16 lowercase hex digits); empty outside a span."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return {}
    return {"trace_id": f"{context.trace_id:032x}", "span_id": f"{context.span_id:016x}"}


def _record_with_trace(*args: Any, **kwargs: Any) -> logging.LogRecord:
    record: logging.LogRecord = _previous(*args, **kwargs)
    if not _active:
        return record
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        trace_id, span_id = f"{context.trace_id:032x}", f"{context.span_id:016x}"
        message = record.msg
        if isinstance(message, _StructuredMessage):
            # structured records render their fields: the ids join them, after the caller's own
            message.fields.setdefault("trace_id", trace_id)
            message.fields.setdefault("span_id", span_id)
        elif not hasattr(record, "trace_id"):
            # a plain stdlib record: extra attributes, rendered under "extra" like any other
            record.trace_id = trace_id
            record.span_id = span_id
    return record


def install() -> None:
    """Put the trace ids on log records from now on (idempotent)."""
    global _previous, _active, _in_chain
    if not _in_chain:
        _previous = logging.getLogRecordFactory()
        logging.setLogRecordFactory(_record_with_trace)
        _in_chain = True
    _active = True


def uninstall() -> None:
    """Stop adding the ids; ours is taken out of the chain unless another factory was installed on top of it."""
    global _previous, _active, _in_chain
    _active = False
    if logging.getLogRecordFactory() is _record_with_trace:
        logging.setLogRecordFactory(_previous)
        _previous = logging.LogRecord
        _in_chain = False


def installed() -> bool:
    return _active


__all__ = ["install", "installed", "trace_fields", "uninstall"]
