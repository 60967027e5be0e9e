"""JSON and message-id helpers for the envelopes: the output and errors of ``json.dumps`` / ``json.loads`` /
``str(uuid.uuid4())``, without their per-call Python overhead (they run for every message)."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable
from json import encoder as _encoder
from typing import Any

# the C accelerator json.dumps builds an encoder from (None without it); not in the typeshed stubs
_c_make_encoder: Callable[..., Callable[[Any, int], list[str]]] | None = getattr(_encoder, "c_make_encoder", None)
_default = json.JSONEncoder().default
_escape = _encoder.encode_basestring_ascii
# the scanner of a default JSONDecoder (what json.loads uses); it keeps no state between calls
_scan_once: Callable[[str, int], tuple[Any, int]] = getattr(json.JSONDecoder(), "scan_once")  # noqa: B009
_uuid4 = uuid.uuid4


def dumps(value: Any) -> str:
    """``json.dumps(value)`` with the default settings, byte for byte (and the same errors)."""
    if _c_make_encoder is None:  # an interpreter without the C accelerator
        return json.dumps(value)
    # a fresh encoder per call, as json.dumps makes: its circular-reference markers are never shared
    encode = _c_make_encoder({}, _default, _escape, None, ": ", ", ", False, False, True)
    return "".join(encode(value, 0))


def loads(text: str) -> Any:
    """``json.loads(text)`` for a str: a JSON object without surrounding whitespace is scanned directly; anything
    else (and any error) goes through ``json.loads`` itself, so results and errors are the same."""
    if text[:1] == "{":
        try:
            value, end = _scan_once(text, 0)
        except Exception:  # noqa: BLE001 - json.loads below raises the proper error
            pass
        else:
            if end == len(text):
                return value
    return json.loads(text)


def uuid4_text() -> str:
    """``str(uuid.uuid4())``: 122 random bits from ``os.urandom``, as uuid4 takes them (read for a batch of ids at a
    time: a system call less per message). A replaced ``uuid.uuid4`` (a test pinning ids) is called instead."""
    if uuid.uuid4 is not _uuid4:
        return str(uuid.uuid4())
    while True:
        try:
            return _ready.pop()  # one step under the GIL: threads never get the same id
        except IndexError:
            _ready.extend(_batch())


def _batch() -> list[str]:
    digits = os.urandom(16 * _BATCH).hex()
    return [
        f"{digits[at : at + 8]}-{digits[at + 8 : at + 12]}-4{digits[at + 13 : at + 16]}-"
        f"{_VARIANT[digits[at + 16]]}{digits[at + 17 : at + 20]}-{digits[at + 20 : at + 32]}"
        for at in range(0, 32 * _BATCH, 32)
    ]


_BATCH = 128  # ids made from one read of randomness
_ready: list[str] = []  # ids made and not handed out yet
# RFC 4122 variant: the two top bits of the clock-seq byte are 10 (its other bits are the random digit's)
_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}
# a forked child must not hand out the ids its parent has left (no fork, and no register_at_fork, on Windows)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_ready.clear)
