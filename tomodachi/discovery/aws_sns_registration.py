"""AWSSNSRegistration: announces the service on SNS at start and stop (via ``tomodachi.sns_publish``).

Register publishes ``{"name", "uuid", "http_endpoints": [[host, port, method, pattern], ...]}`` to
``services-registration-register``; deregister publishes ``{"name", "uuid"}`` to
``services-registration-deregister``. The service's ``message_envelope`` wraps the data; a service without
one gets ``JsonBase``, since the data is a dict.
"""

from __future__ import annotations

from collections.abc import Mapping

from tomodachi.discovery.registry import EndpointRegistry, RegisteredService, _logger

REGISTER_TOPIC = "services-registration-register"
DEREGISTER_TOPIC = "services-registration-deregister"
_LOGGER = "tomodachi.discovery.aws_sns_registration"


async def _publish(service: RegisteredService, data: Mapping[str, object], topic: str) -> None:
    # imported here: the SNS publish path is only loaded by services that use this registry
    from tomodachi.messaging.envelope_choice import resolve_envelope
    from tomodachi.messaging.sns_sqs.api import aws_sns_sqs_publish

    if resolve_envelope(service) is None:
        from tomodachi.envelope import JsonBase

        await aws_sns_sqs_publish(service, data, topic, wait=True, message_envelope=JsonBase)
    else:
        await aws_sns_sqs_publish(service, data, topic, wait=True)


class AWSSNSRegistration(EndpointRegistry):
    """Registry publishing the service's name, uuid and HTTP endpoints on SNS."""

    name: str = "tomodachi.discovery.aws_sns_registration"

    @classmethod
    async def _register_service(cls, service: RegisteredService) -> None:
        _logger(_LOGGER).info("registering service", service=service.name, uuid=service.uuid)
        data = {
            "name": service.name,
            "uuid": service.uuid,
            "http_endpoints": [list(endpoint) for endpoint in cls.endpoints_of(service)],
        }
        await _publish(service, data, REGISTER_TOPIC)

    @classmethod
    async def _deregister_service(cls, service: RegisteredService) -> None:
        cls.forget(service)
        _logger(_LOGGER).info("deregistering service", service=service.name, uuid=service.uuid)
        await _publish(service, {"name": service.name, "uuid": service.uuid}, DEREGISTER_TOPIC)
