"""Field validators of the ``tomodachi.validation.validation`` import path: regex and length checks."""

from __future__ import annotations

import re
from collections.abc import Sized

__all__ = [
    "RegexMissmatchException",
    "TooLargeException",
    "TooSmallException",
    "ValidationException",
    "validate_field_length",
    "validate_field_regex",
]


class ValidationException(ValueError):
    """Base of the validation errors (a ValueError, so generic ``except ValueError`` handlers see them too)."""


class RegexMissmatchException(ValidationException):
    """The value does not match the pattern (the misspelling is the public name and is kept)."""


class TooSmallException(ValidationException):
    """The value is shorter than ``min_length``."""


class TooLargeException(ValidationException):
    """The value is longer than ``max_length``."""


def validate_field_regex(value: str, pattern: str | re.Pattern[str]) -> None:
    """Raise RegexMissmatchException unless ``pattern`` matches at the start of ``value`` (``re.match``).

    Anchor the pattern with ``$`` to require a whole-value match, as with the original helper.
    """
    compiled = pattern if isinstance(pattern, re.Pattern) else re.compile(pattern)
    if not isinstance(value, str) or compiled.match(value) is None:
        raise RegexMissmatchException(f"value {value!r} does not match pattern {compiled.pattern!r}")


def validate_field_length(obj: Sized, min_length: int = -1, max_length: int = -1) -> None:
    """Raise TooSmallException / TooLargeException when ``len(obj)`` is outside the limits (-1 = no limit)."""
    length = len(obj)
    if min_length >= 0 and length < min_length:
        raise TooSmallException(f"length {length} is less than the minimum length {min_length}")
    if max_length >= 0 and length > max_length:
        raise TooLargeException(f"length {length} is more than the maximum length {max_length}")
