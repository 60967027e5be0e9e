"""AWS credentials as one value (upstream's ``tomodachi.helpers.aws_credentials``): built from keywords, a dict,
or any object with the attributes (e.g. botocore's ``Credentials``), read by attribute or like a mapping."""

from __future__ import annotations

from collections.abc import Iterator, KeysView, Mapping
from typing import Any, Protocol, TypedDict

KEYS = ("region_name", "aws_access_key_id", "aws_secret_access_key", "aws_session_token", "endpoint_url")
# botocore's Credentials names two of them differently
_ALIASES = {"aws_access_key_id": "access_key", "aws_secret_access_key": "secret_key", "aws_session_token": "token"}


class CredentialsDict(TypedDict, total=False):
    region_name: str | None
    aws_access_key_id: str | None
    aws_secret_access_key: str | None
    aws_session_token: str | None
    endpoint_url: str | None


class CredentialsTypeProtocol(Protocol):
    """Any object carrying (some of) the credential attributes."""


def _read(source: Any, key: str) -> Any:
    if isinstance(source, Mapping):
        return source.get(key)
    value = getattr(source, key, None)
    if value is None and key in _ALIASES:
        value = getattr(source, _ALIASES[key], None)
    return value


class Credentials:
    """Region, key id, secret, session token and endpoint URL; absent values are None."""

    __slots__ = KEYS

    def __init__(self, source: Any = None, /, **values: Any) -> None:
        unknown = sorted(set(values) - set(KEYS))
        if unknown:
            raise TypeError(f"unexpected credential argument(s): {', '.join(unknown)} (expected {', '.join(KEYS)})")
        for key in KEYS:
            given = values.get(key)
            object.__setattr__(self, key, given if given is not None else _read(source, key) if source else None)

    def __getitem__(self, key: str) -> Any:
        if key not in KEYS:
            raise AttributeError(f"'Credentials' has no value {key!r}")
        return getattr(self, key)

    def get(self, key: str, default: Any = None) -> Any:
        value = getattr(self, key) if key in KEYS else None
        return default if value is None else value

    def __contains__(self, key: object) -> bool:
        return key in KEYS

    def __iter__(self) -> Iterator[str]:
        return iter(KEYS)

    def __len__(self) -> int:
        return len(KEYS)

    def keys(self) -> KeysView[str]:
        return dict.fromkeys(KEYS).keys()

    def values(self) -> list[Any]:
        return [getattr(self, key) for key in KEYS]

    def items(self) -> list[tuple[str, Any]]:
        return [(key, getattr(self, key)) for key in KEYS]

    def dict(self) -> dict[str, Any]:
        return dict(self.items())

    def __repr__(self) -> str:
        shown = {
            key: ("***" if key in ("aws_secret_access_key", "aws_session_token") and value else value)
            for key, value in self.items()
        }
        return f"Credentials({', '.join(f'{k}={v!r}' for k, v in shown.items())})"
