"""tomodachi.validation.validation: regex and length validators and their exceptions."""

from __future__ import annotations

import re

import pytest

from tomodachi.validation.validation import (
    RegexMissmatchException,
    TooLargeException,
    TooSmallException,
    validate_field_length,
    validate_field_regex,
)


def test_regex_match_passes_and_mismatch_raises() -> None:
    validate_field_regex("abc-123", r"^[a-z]+-\d+$")
    validate_field_regex("abc", re.compile("a"))
    with pytest.raises(RegexMissmatchException, match="does not match"):
        validate_field_regex("ABC", r"^[a-z]+$")


def test_regex_matches_at_the_start_like_re_match() -> None:
    validate_field_regex("abc123", r"[a-z]+")  # prefix match is enough without a "$"
    with pytest.raises(RegexMissmatchException):
        validate_field_regex("123abc", r"[a-z]+")


def test_regex_rejects_non_strings_with_the_validation_error() -> None:
    with pytest.raises(RegexMissmatchException):
        validate_field_regex(123, r"\d+")  # type: ignore[arg-type]


@pytest.mark.parametrize("value", ["", "a", "abcd", [1, 2], {"k": 1}])
def test_length_without_limits_accepts_anything(value: object) -> None:
    validate_field_length(value)  # type: ignore[arg-type]


def test_length_limits_are_inclusive() -> None:
    validate_field_length("ab", min_length=2, max_length=2)
    with pytest.raises(TooSmallException, match="minimum length 3"):
        validate_field_length("ab", min_length=3)
    with pytest.raises(TooLargeException, match="maximum length 1"):
        validate_field_length(["a", "b"], max_length=1)


def test_exceptions_are_value_errors() -> None:
    for exc in (RegexMissmatchException, TooSmallException, TooLargeException):
        assert issubclass(exc, ValueError)
