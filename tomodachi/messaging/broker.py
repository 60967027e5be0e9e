"""The Broker / Delivery seam: what the generic message pipeline needs from a message bus (AMQP, SNS+SQS).

Contract
--------
A **broker** is one connection to one bus (real: aioamqp / aiobotocore; memory: a faithful in-process fake).
Transports get it from ``environment.broker(bus, key, default_factory)`` and talk to it only through:

- ``await broker.declare(subscription)`` — create/bind whatever the transport-specific *subscription descriptor*
  asks for (AMQP exchange + queue + binding + dead-letter queue; SNS topic + SQS queue + subscription + DLQ).
  Errors raise (they abort the service start).
- ``await broker.consume(subscription, on_delivery)`` → a :class:`Consumer`. The broker calls
  ``on_delivery(delivery)`` (a plain function; it must not block) once per delivered message, from the event
  loop, respecting its own flow control (prefetch / batch size). The transport spawns the handler task.
- ``await broker.publish(publication)`` — send a transport-specific *publish descriptor*; returns the
  broker's message id (or ``None``). A broker may return before the bus confirmed the message: it then
  registers the publish in the caller's :mod:`~tomodachi.messaging.publish_scope` (the pipeline settles it
  before acking the delivery being handled) and awaits it at the latest in ``close()``.
- ``await broker.close()`` — release connections; idempotent.

A **delivery** (:class:`Delivery`) is one received message: raw ``body`` (``str`` or ``bytes``), ``attributes``
(AMQP headers / SQS message attributes), ``receive_count`` (1 on first delivery), ``redelivered``,
``delivery_id`` and ``metadata`` (transport-specific facts: for AMQP ``routing_key`` *as delivered*,
``exchange_name``, ``properties``, ``queue_name``; for SQS ``receipt_handle``, ``queue_url``, message ids,
group/dedup ids …). It is settled exactly once, by one of:

- ``ack()`` — done, remove it from the bus;
- ``retry(delay)`` — make it available again after ``delay`` seconds of the environment's Clock, counting a
  further receive (AMQP: requeue with the redelivered flag; SQS: change visibility);
- ``dead_letter(reason)`` — move it to the dead-letter queue the subscription declared (never lose it).

Later settle calls are ignored, so a transport may settle defensively (e.g. on shutdown: ``retry(0)`` for
whatever is still unsettled). Knobs specific to one bus (routing keys, competing consumers, filter policies,
FIFO, visibility timeouts, redrive) live in that bus's descriptors, never in :mod:`tomodachi.messaging.pipeline`.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import Any, Protocol, TypeVar

SubscriptionT = TypeVar("SubscriptionT", contravariant=True)
PublicationT = TypeVar("PublicationT", contravariant=True)

ENVIRONMENT_CONTEXT_KEY = "_tomodachi_environment"


class Delivery(ABC):
    """One received message plus the means to settle it; settling is idempotent (first call wins)."""

    def __init__(
        self,
        *,
        body: str | bytes,
        attributes: Mapping[str, Any] | None = None,
        receive_count: int = 1,
        redelivered: bool = False,
        delivery_id: str = "",
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        self.body = body
        self.attributes: dict[str, Any] = dict(attributes or {})
        self.receive_count = receive_count
        self.redelivered = redelivered
        self.delivery_id = delivery_id
        self.metadata: dict[str, Any] = dict(metadata or {})
        self.outcome: str | None = None  # "ack" | "retry" | "dead_letter" once settled
        # the task running this delivery's pipeline (set by the pipeline): lets tests see what it waits on
        self.handler_task: asyncio.Task[Any] | None = None
        self.handler = ""  # "<service>.<handler>" running it (set by the pipeline)
        # raised in place of the handler (a test's in-memory broker injecting a failed attempt)
        self.injected_fault: BaseException | None = None
        self._settled: asyncio.Event | None = None
        self._completed = False

    @property
    def settled(self) -> bool:
        return self.outcome is not None

    def text(self) -> str:
        """The body as text (bytes decoded as UTF-8, undecodable bytes replaced)."""
        return self.body if isinstance(self.body, str) else self.body.decode("utf-8", errors="replace")

    async def ack(self) -> None:
        if self._claim("ack"):
            try:
                await self._ack()
            finally:
                self._complete()

    async def retry(self, delay: float = 0.0) -> None:
        if self._claim("retry"):
            try:
                await self._retry(max(0.0, delay))
            finally:
                self._complete()

    async def dead_letter(self, reason: str) -> None:
        if self._claim("dead_letter"):
            try:
                await self._dead_letter(reason)
            finally:
                self._complete()

    def abandon(self) -> None:
        """Never settle this delivery (its consumer died): later settle calls do nothing."""
        if self._claim("abandoned"):
            self._complete()

    async def wait_settled(self, completed: bool = False) -> str:
        """Wait until a settle method was called — with ``completed``, until its request to the broker has
        completed too (failed or not); returns the outcome."""
        if not (self._completed if completed else self.outcome is not None):
            if self._settled is None:
                self._settled = asyncio.Event()
            while not (self._completed if completed else self.outcome is not None):
                self._settled.clear()
                await self._settled.wait()
        assert self.outcome is not None
        return self.outcome

    def _claim(self, outcome: str) -> bool:
        if self.outcome is not None:
            return False
        self.outcome = outcome
        if self._settled is not None:
            self._settled.set()
        return True

    def _complete(self) -> None:
        self._completed = True
        if self._settled is not None:
            self._settled.set()

    @abstractmethod
    async def _ack(self) -> None: ...

    @abstractmethod
    async def _retry(self, delay: float) -> None: ...

    @abstractmethod
    async def _dead_letter(self, reason: str) -> None: ...


DeliveryCallback = Callable[[Delivery], None]


class Consumer(Protocol):
    """A running subscription; ``cancel()`` stops new deliveries at once (in-flight ones stay unsettled)."""

    async def cancel(self) -> None: ...


class Broker(Protocol[SubscriptionT, PublicationT]):
    """One connection to one message bus; see the module docstring for the contract."""

    async def declare(self, subscription: SubscriptionT) -> None: ...

    async def consume(self, subscription: SubscriptionT, on_delivery: DeliveryCallback) -> Consumer: ...

    async def publish(self, publication: PublicationT) -> Any: ...

    async def close(self) -> None: ...


def trim_history(records: list[Any], limit: int | None) -> None:
    """Keep a memory broker's log of publishes to about ``limit`` entries (``None``: keep all, as tests do).

    Trimmed in halves so a long-running embedded process pays O(1) per publish on average."""
    if limit is not None and len(records) > 2 * limit:
        del records[: len(records) - limit]


def environment_of(service: Any) -> Any:
    """The Environment a service runs in (set by its transports / container), else a process-wide default.

    Publish functions use it to reach the same broker instance as the service's consumers.
    """
    context = getattr(service, "context", None)
    if isinstance(context, dict) and context.get(ENVIRONMENT_CONTEXT_KEY) is not None:
        return context[ENVIRONMENT_CONTEXT_KEY]
    found = getattr(service, ENVIRONMENT_CONTEXT_KEY, None)
    if found is not None:
        return found
    global _default_environment
    if _default_environment is None:
        from tomodachi.runtime.environment import Environment

        _default_environment = Environment()
    return _default_environment


def remember_environment(service: Any, environment: Any) -> None:
    """Record the service's Environment in its ``context`` so publish calls find it."""
    context = getattr(service, "context", None)
    if isinstance(context, dict):
        context[ENVIRONMENT_CONTEXT_KEY] = environment
    else:
        try:
            setattr(service, ENVIRONMENT_CONTEXT_KEY, environment)
        except AttributeError:
            pass


_default_environment: Any = None
