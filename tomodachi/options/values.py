"""Option values: the errors, the converters and bounds, and the descriptors of one option and of a section."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Generic, TypeVar, cast, overload

if TYPE_CHECKING:
    from tomodachi.options import OptionsInterface

Path = tuple[str, ...]

_T = TypeVar("_T")
_S = TypeVar("_S", bound="OptionsInterface")


class OptionsError(ValueError):
    """Base class of every options problem; ``key`` is the dotted option key concerned."""

    key: str


class UnknownOptionError(OptionsError, AttributeError):
    """An option key that does not exist (an ``AttributeError``, as the spec requires)."""

    def __init__(self, key: str, suggestion: str | None = None) -> None:
        hint = f"; did you mean {suggestion!r}?" if suggestion else ""
        super().__init__(f"unknown option {key!r}{hint}")
        self.key = key
        self.suggestion = suggestion


class InvalidOptionError(OptionsError, TypeError):
    """An option given a value of the wrong type or outside its allowed range."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


class ConfigError(ValueError):
    """A config file that is missing, unreadable or not a JSON object; names the file."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(message)
        self.path = path


def _dotted(path: Path) -> str:
    return ".".join(path)


def _short_repr(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


# options whose values never appear in a repr or an error message (logs are read by more people than secrets are)
SECRET_OPTIONS = frozenset({"amqp.password", "aws_sns_sqs.aws_secret_access_key"})
HIDDEN = "'***'"


def _invalid(key: str, given_as: str | None, expected: str, value: object) -> InvalidOptionError:
    alias = f" (given as {given_as!r})" if given_as and given_as != key else ""
    shown = "(value hidden)" if key in SECRET_OPTIONS else _short_repr(value)
    return InvalidOptionError(
        key, f"invalid value for option {key!r}{alias}: expected {expected}, got {type(value).__name__} {shown}"
    )


# --- value converters --------------------------------------------------------------------------------------------

_SIZE_UNITS = {"": 1, "B": 1, "K": 1024, "KB": 1024, "M": 1024**2, "MB": 1024**2, "G": 1024**3, "GB": 1024**3}
_SIZE_RE = re.compile(r"^\s*(\d+)\s*([KMG]?B?)\s*$", re.IGNORECASE)
_MIN_CLIENT_MAX_SIZE = 1024
_MAX_CLIENT_MAX_SIZE = 1024**3


def parse_size(value: object) -> int:
    """Bytes from an int or a str like ``"100M"`` / ``"512 KB"`` (binary units); ``ValueError`` for anything else."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f"expected int or str size, got {type(value).__name__}")
    if isinstance(value, int):
        return value
    match = _SIZE_RE.match(value)
    if not match:
        raise ValueError(f"invalid size {value!r}; use an int or a number with a B/K/KB/M/MB/G/GB suffix")
    return int(match.group(1)) * _SIZE_UNITS[match.group(2).upper()]


def _client_max_size(key: str, value: object, given_as: str | None) -> int:
    try:
        size = parse_size(value)
    except ValueError:
        raise _invalid(key, given_as, "int or str with B/K/KB/M/MB/G/GB suffix (e.g. '100M')", value) from None
    if not _MIN_CLIENT_MAX_SIZE <= size <= _MAX_CLIENT_MAX_SIZE:
        raise InvalidOptionError(
            key, f"invalid value for option {key!r}: {size} bytes is outside the allowed range 1024 bytes .. 1 GiB"
        )
    return size


def _str_list(key: str, value: object, given_as: str | None) -> list[str]:
    # A lone string is taken as a one-element list; the result is always a fresh list (no shared mutable state).
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)) and all(isinstance(item, str) for item in value):
        return list(value)
    raise _invalid(key, given_as, "list of str", value)


_UNBOUNDED = float("inf")
_PORT = (0, 65535)
_NOT_NEGATIVE = (0, _UNBOUNDED)


class _Option(Generic[_T]):
    """Descriptor for one leaf option: default, accepted types and validation on every assignment."""

    def __init__(
        self,
        default: object,
        *types: type,
        nullable: bool = False,
        factory: Callable[[], object] | None = None,
        convert: Callable[[str, object, str | None], object] | None = None,
        bounds: tuple[float, float] | None = None,
    ) -> None:
        self.name = ""
        self._default = default
        self.types = types
        self.nullable = nullable
        self.factory = factory
        self.convert = convert
        self.bounds = bounds  # inclusive range of a number

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> _Option[_T]: ...

    @overload
    def __get__(self, obj: OptionsInterface, owner: type | None = None) -> _T: ...

    def __get__(self, obj: OptionsInterface | None, owner: type | None = None) -> _T | _Option[_T]:
        if obj is None:
            return self
        value: _T = obj._values[self.name]
        return value

    def __set__(self, obj: OptionsInterface, value: object) -> None:
        obj._apply([_Assign(obj._PATH + (self.name,), value, None, _CANONICAL, False)], defer=False)

    def default(self) -> object:
        return self.factory() if self.factory is not None else self._default

    @property
    def expected(self) -> str:
        names = " or ".join(t.__name__ for t in self.types)
        return f"{names} or None" if self.nullable else names

    def check(self, key: str, value: object, given_as: str | None) -> object:
        if value is None and self.nullable:
            return None
        if self.convert is not None:
            return self.convert(key, value, given_as)
        # bool is an int subclass; True is never a valid port or count.
        if value is None or (isinstance(value, bool) and bool not in self.types) or not isinstance(value, self.types):
            raise _invalid(key, given_as, self.expected, value)
        if self.bounds is not None and not self.bounds[0] <= cast(float, value) <= self.bounds[1]:
            low, high = self.bounds
            allowed = f"at least {low:g}" if high == _UNBOUNDED else f"from {low:g} to {high:g}"
            raise InvalidOptionError(key, f"invalid value for option {key!r}: {value!r} is not {allowed}")
        return value


class _Section(Generic[_S]):
    """Descriptor for a nested section; assigning a mapping or an instance replaces the section."""

    def __init__(self, cls: type[_S]) -> None:
        self.cls = cls
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> _Section[_S]: ...

    @overload
    def __get__(self, obj: OptionsInterface, owner: type | None = None) -> _S: ...

    def __get__(self, obj: OptionsInterface | None, owner: type | None = None) -> _S | _Section[_S]:
        if obj is None:
            return self
        value: _S = obj._values[self.name]
        return value

    def __set__(self, obj: OptionsInterface, value: object) -> None:
        obj._replace_section(self.name, value)


# Assignment priorities: fan-out legacy keys first, then specific legacy keys, then canonical keys, so the most
# specific spelling wins whatever order the user wrote them in. Conditional ones (keepalive_expiry) come last.
_FANOUT, _LEGACY, _CANONICAL, _CONDITIONAL = 0, 1, 2, 3


class _Assign:
    """One option assignment. A plain class, not a dataclass: building dataclasses costs startup time."""

    __slots__ = ("target", "value", "given_as", "priority", "only_if_unset")

    def __init__(self, target: Path, value: object, given_as: str | None, priority: int, only_if_unset: bool) -> None:
        self.target = target
        self.value = value
        self.given_as = given_as
        self.priority = priority
        self.only_if_unset = only_if_unset
