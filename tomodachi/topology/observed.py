"""Records the flows of running services (who published where, who consumed, what was given up on) as an observer."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from tomodachi.runtime.observe import HandlerCallEvent, MessageLostEvent, MessagePublishedEvent
from tomodachi.topology.model import Bus, Flows, Publication, PublishKind, ServiceWiring, Topology

if TYPE_CHECKING:
    from tomodachi.topology.static import ConfiguredService

MESSAGE_TRANSPORTS = ("amqp", "aws_sns_sqs")


class FlowRecorder:
    """An Environment observer counting flows; ``add_service`` gives it each running service's static wiring.

    Counters only (no message is kept), so a long embedded run or a whole test session stays small."""

    def __init__(self) -> None:
        self.flows = Flows()
        self._services: dict[str, ServiceWiring] = {}

    def add_service(self, wiring: ServiceWiring) -> None:
        """A service that ran (a restart or a second test describing the same service replaces its wiring)."""
        self._services[wiring.name] = wiring

    def describe(self, instance: ConfiguredService, file: str | None = None) -> None:
        from tomodachi.topology.static import describe_service

        self.add_service(describe_service(instance, file=file))

    def topology(self) -> Topology:
        return Topology(services=list(self._services.values()), flows=self.flows)

    # -- Observer ---------------------------------------------------------------------------------------------
    def handler_called(self, event: HandlerCallEvent) -> None:
        if event.transport not in MESSAGE_TRANSPORTS:
            return
        key = (event.service, _method_name(event.handler))
        self.flows.consumed[key] += 1
        if event.exception is not None:
            self.flows.failed[key] += 1

    def message_lost(self, event: MessageLostEvent) -> None:
        self.flows.dead_lettered[(event.service, _method_name(event.handler))] += 1

    def message_published(self, event: MessagePublishedEvent) -> None:
        publication = Publication(event.service, cast(Bus, event.bus), cast(PublishKind, event.kind), event.destination)
        self.flows.published[publication] += 1


def _method_name(handler: str) -> str:
    """Handlers are reported as ``service.method`` by the pipeline and as ``method`` by call events."""
    return handler.rsplit(".", 1)[-1]
