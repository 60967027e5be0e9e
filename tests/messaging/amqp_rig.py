"""A small rig that runs AMQP transports directly on a TransportContext (no container needed)."""

from __future__ import annotations

import uuid
from typing import Any

from tomodachi.handlers import specs_of
from tomodachi.messaging.amqp.memory import MemoryAmqpBroker
from tomodachi.messaging.amqp.subscribers import AmqpSubscribers, create_transport
from tomodachi.runtime.environment import Environment
from tomodachi.runtime.transport import BoundHandler, TransportContext
from tomodachi.testing.clock import VirtualClock
from tomodachi.testing.fakes.amqp import InMemoryAmqp
from tomodachi.testing.ledger import Ledger
from tomodachi.testing.records import PublishedMessage


class PlainService:
    """Stand-in for a tomodachi.Service instance: the attributes the messaging code reads."""

    name = "service"
    uuid = ""
    message_envelope: Any = None
    message_middleware: list[Any] = []
    options: Any = None

    def __init__(self) -> None:
        self.context: dict[str, Any] = {}
        if not type(self).uuid:
            type(self).uuid = str(uuid.uuid4())


class Rig:
    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self.broker = MemoryAmqpBroker(clock=clock)
        self.fake = InMemoryAmqp(self.broker, clock, Ledger())
        self.errors: list[tuple[BaseException, str]] = []
        self.environment = Environment(
            clock=clock,
            broker_factories={"amqp": lambda key, build_default: self.broker},
            report_error=lambda exc, where: self.errors.append((exc, where)),
        )
        self.transports: list[AmqpSubscribers] = []

    async def publish(self, routing_key: str, data: Any, *, envelope: Any = None, **kwargs: Any) -> PublishedMessage:
        """Publish from outside, raw unless ``envelope`` is given (the rig's services mostly read raw bodies)."""
        return await self.fake.publish(routing_key, data, envelope=envelope, **kwargs)

    async def start(self, service: Any, options: Any = None) -> AmqpSubscribers:
        handlers = []
        for attr in dir(type(service)):
            for spec in specs_of(getattr(type(service), attr, None)):
                if spec.transport == "amqp":
                    handlers.append(BoundHandler(name=attr, func=getattr(service, attr), spec=spec))
        context = TransportContext(
            service=service, options=options, environment=self.environment, handlers=tuple(handlers)
        )
        transport = create_transport(context)
        self.transports.append(transport)
        await transport.setup()
        await transport.start()
        return transport

    async def stop(self, grace: float = 5.0) -> None:
        for transport in reversed(self.transports):
            await transport.stop(grace)
