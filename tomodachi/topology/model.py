"""What a system's wiring is made of: services with their routes, subscriptions and schedules, and observed flows."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Bus = Literal["amqp", "aws_sns_sqs"]
PublishKind = Literal["amqp", "sns", "sqs"]


@dataclass(frozen=True)
class Route:
    """One HTTP handler: ``kind`` is ``http``, ``websocket``, ``static`` or ``error`` (an error page)."""

    handler: str
    kind: str
    methods: tuple[str, ...]
    path: str


@dataclass(frozen=True)
class Subscription:
    """One message handler and what feeds it, with the names as they are on the wire (prefixes applied, decoded).

    ``source`` is the AMQP binding key or the SNS topic; ``None`` for an SQS queue no topic feeds."""

    handler: str
    bus: Bus
    source: str | None
    queue: str
    dead_letter_queue: str | None = None
    filter_policy: Mapping[str, Any] | None = None
    fifo: bool = False
    exchange: str | None = None


@dataclass(frozen=True)
class Schedule:
    handler: str
    when: str  # "every 300 s", "cron 0 * * * *", "at 22:00 (UTC)"


@dataclass(frozen=True)
class ServiceWiring:
    """The static wiring of one service class."""

    name: str
    file: str | None
    routes: tuple[Route, ...] = ()
    subscriptions: tuple[Subscription, ...] = ()
    schedules: tuple[Schedule, ...] = ()

    def subscription_of(self, handler: str) -> Subscription | None:
        return next((s for s in self.subscriptions if s.handler == handler), None)


@dataclass(frozen=True)
class Publication:
    """Who published where: ``destination`` is the routing key, the SNS topic or (``kind="sqs"``) the queue."""

    service: str
    bus: Bus
    kind: PublishKind
    destination: str


@dataclass
class Flows:
    """What was seen while the services ran: publishes by service, handler runs, messages given up on."""

    published: Counter[Publication] = field(default_factory=Counter)
    consumed: Counter[tuple[str, str]] = field(default_factory=Counter)  # (service, handler)
    failed: Counter[tuple[str, str]] = field(default_factory=Counter)  # handler runs that raised
    dead_lettered: Counter[tuple[str, str]] = field(default_factory=Counter)  # given up on: DLQ or dropped


@dataclass
class Topology:
    """A system: its services' static wiring and, when it was run, the flows observed (``None``: static only)."""

    services: list[ServiceWiring] = field(default_factory=list)
    flows: Flows | None = None

    def service(self, name: str) -> ServiceWiring | None:
        return next((s for s in self.services if s.name == name), None)
