"""The ``options.http`` section read once into a typed, immutable settings object for the HTTP transport."""

from __future__ import annotations

import functools
import ipaddress
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_SIZE_UNITS = {"": 1, "B": 1, "K": 1024, "KB": 1024, "M": 1024**2, "MB": 1024**2, "G": 1024**3, "GB": 1024**3}
_MIN_CLIENT_MAX_SIZE = 1024
_MAX_CLIENT_MAX_SIZE = 1024**3


def parse_size(value: object) -> int:
    """``client_max_size`` as bytes: an int, or a string such as ``"10M"`` / ``"512 KB"``; bounded 1 KiB..1 GiB."""
    if isinstance(value, bool):
        raise ValueError(f"invalid http.client_max_size: {value!r}")
    if isinstance(value, int | float):
        size = int(value)
    elif isinstance(value, str):
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*", value)
        unit = match.group(2).upper() if match else ""
        if match is None or unit not in _SIZE_UNITS:
            raise ValueError(f"invalid http.client_max_size: {value!r}")
        size = int(float(match.group(1)) * _SIZE_UNITS[unit])
    else:
        raise ValueError(f"invalid http.client_max_size: {value!r}")
    if not _MIN_CLIENT_MAX_SIZE <= size <= _MAX_CLIENT_MAX_SIZE:
        raise ValueError(f"http.client_max_size must be between 1024 bytes and 1 GiB, got {value!r}")
    return size


def split_content_type(value: str, default_charset: str) -> tuple[str, str]:
    """``"text/plain; charset=utf-8"`` → ``("text/plain", "utf-8")``; no charset parameter → ``default_charset``."""
    media_type, _, params = value.partition(";")
    charset = default_charset
    for param in params.split(";"):
        key, _, val = param.strip().partition("=")
        if key.strip().lower() == "charset" and val.strip():
            charset = val.strip().strip('"')
    return media_type.strip() or "text/plain", charset


def _networks(values: object) -> tuple[IPNetwork, ...]:
    if not values:
        return ()
    items = [values] if isinstance(values, str) else values
    if not isinstance(items, Iterable):
        raise TypeError(f"http.real_ip_from must be a network or a list of networks, got {values!r}")
    return tuple(ipaddress.ip_network(str(item).strip(), strict=False) for item in items)


@dataclass(frozen=True)
class HttpSettings:
    port: int | None = 9700
    host: str = "0.0.0.0"
    reuse_port: bool = False
    content_type: str = "text/plain"
    charset: str = "utf-8"
    client_max_size: int = 104857600
    termination_grace_period_seconds: float = 30.0
    access_log: bool | str = True
    real_ip_from: tuple[IPNetwork, ...] = ()
    real_ip_header: str = "X-Forwarded-For"
    keepalive_timeout: float = 0.0
    max_keepalive_time: float | None = None
    max_keepalive_requests: int | None = None
    server_header: str = "tomodachi"
    websocket_max_message_size: int = 4 * 1024 * 1024
    websocket_heartbeat: float | None = 30.0
    header_timeout: float | None = 30.0
    read_timeout: float | None = 60.0

    @functools.cached_property  # read for every str a handler returns
    def default_content_type(self) -> str:
        """The ``Content-Type`` of a response that names none: the options' type and charset."""
        return f"{self.content_type}; charset={self.charset}"

    @property
    def keepalive(self) -> bool:
        return self.keepalive_timeout > 0

    @classmethod
    def from_options(cls, options: object) -> HttpSettings:
        """Read ``options.http`` by attribute (``Options`` tree) or by key (a plain mapping), defaults otherwise."""
        section = _section(options)

        def get(key: str, default: object) -> Any:
            value = _as_set(section, key, default)
            return default if value is None and default is not None else value

        content_type, charset = split_content_type(
            str(get("content_type", "text/plain; charset=utf-8")), str(get("charset", "utf-8"))
        )
        keepalive_timeout = get("keepalive_timeout", 0) or get("keepalive_expiry", 0) or 0
        max_time = get("max_keepalive_time", None)
        max_requests = get("max_keepalive_requests", None)
        access_log = get("access_log", True)
        port = get("port", 9700)
        return cls(
            port=int(port) if port else None,
            host=str(get("host", "0.0.0.0") or "0.0.0.0"),
            reuse_port=bool(get("reuse_port", sys.platform == "linux")),
            content_type=content_type,
            charset=charset,
            client_max_size=parse_size(get("client_max_size", 104857600)),
            termination_grace_period_seconds=max(0.0, float(get("termination_grace_period_seconds", 30))),
            access_log=access_log if isinstance(access_log, str) and access_log else bool(access_log),
            real_ip_from=_networks(get("real_ip_from", ())),
            real_ip_header=str(get("real_ip_header", "X-Forwarded-For") or "X-Forwarded-For"),
            keepalive_timeout=max(0.0, float(keepalive_timeout)),
            max_keepalive_time=float(max_time) if max_time else None,
            max_keepalive_requests=int(max_requests) if max_requests else None,
            server_header=_server_header(section),
            websocket_max_message_size=parse_size(get("websocket_max_message_size", 4 * 1024 * 1024)),
            websocket_heartbeat=_seconds(section, "websocket_heartbeat", 30),
            header_timeout=_seconds(section, "header_timeout", 30),
            read_timeout=_seconds(section, "read_timeout", 60),
        )


def _as_set(section: object, key: str, default: object) -> Any:
    """``key`` exactly as the section sets it — ``None`` included, where ``get`` falls back to the default."""
    if section is None:
        return default
    return section.get(key, default) if isinstance(section, dict) else getattr(section, key, default)


def _seconds(section: object, key: str, default: float) -> float | None:
    """A duration option as set (``None`` or 0: off), ``default`` seconds when the section does not say."""
    value = _as_set(section, key, default)
    return float(value) if value else None


def _server_header(section: object) -> str:
    """``server_header`` as set; ``None`` or ``""`` hides the server software (sent empty, since aiohttp would
    otherwise name itself and its version)."""
    value = _as_set(section, "server_header", "tomodachi")
    return str(value) if value else ""


def _section(options: object) -> object:
    if options is None:
        return None
    if isinstance(options, dict):
        nested = options.get("http")
        if nested is not None:
            return nested
        flat = {k[len("http.") :]: v for k, v in options.items() if isinstance(k, str) and k.startswith("http.")}
        return flat or None
    return getattr(options, "http", None)
