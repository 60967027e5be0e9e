"""DummyRegistry: an example registry that only logs the service's registration and its HTTP endpoints."""

from __future__ import annotations

from tomodachi.discovery.registry import EndpointRegistry, RegisteredService, _logger

_LOGGER = "tomodachi.discovery.dummy_registry"


class DummyRegistry(EndpointRegistry):
    """Logs "registering service" / "deregistering service"; a template for writing a real registry."""

    name: str = "tomodachi.discovery.dummy_registry"

    @classmethod
    async def _register_service(cls, service: RegisteredService) -> None:
        _logger(_LOGGER).info(
            "registering service endpoints",
            service=service.name,
            uuid=service.uuid,
            http_endpoints=[list(endpoint) for endpoint in cls.endpoints_of(service)],
        )

    @classmethod
    async def _deregister_service(cls, service: RegisteredService) -> None:
        cls.forget(service)
        _logger(_LOGGER).info("deregistering service", service=service.name, uuid=service.uuid)
