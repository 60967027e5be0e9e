"""How field values appear in a ``key=value`` line: quoted only when needed, control characters escaped."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

_NEEDS_QUOTES = re.compile(r"[\s=]")

# control characters from logged data (a request path, a message body) would drive the terminal: an ESC could
# recolor, hide or rewrite earlier lines. Shown escaped instead; line breaks inside a message stay readable.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _console_value(value: object) -> str:
    if type(value) is str:
        # Quote only when needed to keep k=v pairs unambiguous.
        return value if value and not _NEEDS_QUOTES.search(value) else repr(value)
    if value is None or type(value) is int:
        return str(value)
    try:
        return repr(value)
    except Exception:
        return object.__repr__(value)


def _printable(text: str) -> str:
    return _CONTROL.sub(lambda match: repr(match.group(0))[1:-1], text) if _CONTROL.search(text) else text


def line_fields(fields: Mapping[str, object]) -> Iterator[tuple[str, object]]:
    """The ``(key, value)`` pairs a line shows: ``...`` values dropped, and the fields of a stdlib record's
    ``extra=`` (held as a dict under ``"extra"``) shown one by one rather than as a dict."""
    for key, value in fields.items():
        if value is Ellipsis:
            continue
        if key == "extra" and type(value) is dict:
            for extra_key, extra_value in value.items():
                if extra_value is not Ellipsis:
                    yield str(extra_key), extra_value
            continue
        yield key, value


def key_value_text(fields: Mapping[str, object]) -> str:
    """``k=v k2=v2`` for the fields of a line."""
    return " ".join(f"{key}={_console_value(value)}" for key, value in line_fields(fields))
