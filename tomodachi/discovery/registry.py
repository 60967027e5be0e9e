"""Shared bookkeeping of the bundled registries: the HTTP endpoints announced per service instance."""

from __future__ import annotations

from typing import Any

Endpoint = tuple[str, int, str, str]  # (host, port, method, pattern)


class EndpointRegistry:
    """Base of the bundled registries: collects ``add_http_endpoint`` calls per service instance.

    Registries are used as classes (``discovery = [DummyRegistry]``), so the hooks are classmethods and the
    endpoints live on the class, keyed by the service instance (each subclass gets its own table).
    """

    http_endpoints: dict[Any, list[Endpoint]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.http_endpoints = {}

    @classmethod
    async def add_http_endpoint(cls, service: Any, host: str, port: int, method: str, pattern: str) -> None:
        cls.http_endpoints.setdefault(service, []).append((host, port, method, pattern))

    @classmethod
    def endpoints_of(cls, service: Any) -> list[Endpoint]:
        return list(cls.http_endpoints.get(service, []))

    @classmethod
    def forget(cls, service: Any) -> list[Endpoint]:
        return cls.http_endpoints.pop(service, [])


def _logger(name: str) -> Any:
    from tomodachi.logging import get_logger

    return get_logger(name)
