"""Each test starts with nothing bound (what a test binds on a named logger would otherwise carry over to the
next test run in the same context, as upstream's own test suite guards against too); ``stream`` captures the
JSON lines of a configured root logger."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

import tomodachi.logging as tlog


@pytest.fixture(autouse=True)
def _nothing_bound() -> Iterator[None]:
    tlog.reset_context()
    yield
    tlog.reset_context()


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    """Logging configured as ``--logger json --log-level debug``, writing into the returned buffer."""
    root = logging.getLogger()
    level = root.level
    out = io.StringIO()
    tlog.configure("debug", "json", stream=out)
    yield out
    tlog.remove_handlers()
    root.setLevel(level)
