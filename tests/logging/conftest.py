"""Each test starts with nothing bound: what a test binds on a named logger would otherwise carry over to the
next test run in the same context (as upstream's own test suite guards against too)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import tomodachi.logging as tlog


@pytest.fixture(autouse=True)
def _nothing_bound() -> Iterator[None]:
    tlog.reset_context()
    yield
    tlog.reset_context()
