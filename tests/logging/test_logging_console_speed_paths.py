"""The console formatter's fast paths render exactly what the general ones do."""

from __future__ import annotations

import datetime

import pytest

from tomodachi.logging import _console_value, _timestamp


@pytest.mark.parametrize(
    "created",
    [0.0, 1733360000.123456, 1733360000.9999996, 1733360001.5, 1733360001.000001, 1733360059.999999],
)
def test_timestamps_match_a_full_format_whatever_second_came_before(created: float) -> None:
    expected = datetime.datetime.fromtimestamp(created, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    _timestamp(created - 1)  # a different second formatted last
    assert _timestamp(created) == expected
    assert _timestamp(created) == expected  # and the same second again


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("plain", "plain"),
        ("", "''"),
        ("two words", "'two words'"),
        ("a=b", "'a=b'"),
        ("tab\there", "'tab\\there'"),
        (None, "None"),
        (4711, "4711"),
        (True, "True"),
        (1.5, "1.5"),
        (b"x", "b'x'"),
    ],
)
def test_console_values_are_quoted_only_when_needed(value: object, shown: str) -> None:
    assert _console_value(value) == shown
