"""The contract between the service container and a transport (http, amqp, aws_sns_sqs, schedule)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from tomodachi.handlers import HandlerSpec

if TYPE_CHECKING:
    from tomodachi.options import Options
    from tomodachi.runtime.environment import Environment


@dataclass(frozen=True)
class BoundHandler:
    """One decorated method of one service instance, with the spec that selected this transport."""

    name: str  # the method's attribute name on the class
    func: Callable[..., object]  # bound method (the attribute as found on the instance)
    spec: HandlerSpec


@dataclass(frozen=True)
class TransportContext:
    """Everything a transport needs from the container that owns it."""

    service: object  # the service instance (transports read what they need of it with getattr)
    options: Options  # the options of *this* service (per service, never process-global)
    environment: Environment  # clock, brokers, error reporting
    handlers: tuple[BoundHandler, ...]


class Transport(Protocol):
    """Lifecycle of one transport inside one service container.

    Order: ``setup()`` for every transport (bind sockets, declare queues; an exception aborts the start with
    exit 1), then the user's ``_started_service``, then ``start()`` (begin delivering work: consume, run
    schedules). On stop, ``stop(grace_period)`` must stop accepting new work at once, await in-flight work for
    at most ``grace_period`` seconds, then release its resources. ``stop`` is called even if ``setup`` failed
    half-way, and must be idempotent.
    """

    async def setup(self) -> None: ...

    async def start(self) -> None: ...

    async def stop(self, grace_period: float) -> None: ...


TransportFactory = Callable[[TransportContext], Transport]

# transport name -> "module:factory". Imported lazily so `import tomodachi` stays cheap and a service only
# pays for the transports it uses.
TRANSPORT_FACTORIES: dict[str, str] = {
    "http": "tomodachi.transport.http.transport:create_transport",
    "schedule": "tomodachi.transport.schedule.transport:create_transport",
    "amqp": "tomodachi.messaging.amqp.subscribers:create_transport",
    "aws_sns_sqs": "tomodachi.messaging.sns_sqs.subscribers:create_transport",
}

# order in which transports are set up; stopped in reverse
TRANSPORT_ORDER: tuple[str, ...] = ("amqp", "aws_sns_sqs", "http", "schedule")


def load_transport_factory(transport: str) -> TransportFactory:
    try:
        target = TRANSPORT_FACTORIES[transport]
    except KeyError:
        raise ValueError(f"unknown transport {transport!r}") from None
    module_name, _, attribute = target.partition(":")
    factory: TransportFactory = getattr(importlib.import_module(module_name), attribute)
    return factory
