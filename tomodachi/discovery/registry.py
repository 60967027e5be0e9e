"""Shared bookkeeping of the bundled registries: the HTTP endpoints announced per service instance."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from tomodachi.logging import Logger

Endpoint = tuple[str, int, str, str]  # (host, port, method, pattern)


class RegisteredService(Protocol):
    """What the bundled registries read of the service they register."""

    @property
    def name(self) -> str: ...

    @property
    def uuid(self) -> str: ...


class EndpointRegistry:
    """Base of the bundled registries: collects ``add_http_endpoint`` calls per service instance.

    Registries are used as classes (``discovery = [DummyRegistry]``), so the hooks are classmethods and the
    endpoints live on the class, keyed by the service instance (each subclass gets its own table).
    """

    http_endpoints: dict[object, list[Endpoint]]  # by service instance

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        cls.http_endpoints = {}

    @classmethod
    async def add_http_endpoint(cls, service: object, host: str, port: int, method: str, pattern: str) -> None:
        cls.http_endpoints.setdefault(service, []).append((host, port, method, pattern))

    @classmethod
    def endpoints_of(cls, service: object) -> list[Endpoint]:
        return list(cls.http_endpoints.get(service, []))

    @classmethod
    def forget(cls, service: object) -> list[Endpoint]:
        return cls.http_endpoints.pop(service, [])


def _logger(name: str) -> Logger:
    from tomodachi.logging import get_logger

    return get_logger(name)
