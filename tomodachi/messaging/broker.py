"""The Broker / Delivery seam: what the generic message pipeline needs from a message bus (AMQP, SNS+SQS).

Contract
--------
A **broker** is one connection to one bus (real: aioamqp / aiobotocore; memory: a faithful in-process fake).
Transports get it from ``environment.broker(bus, key, build_default)`` and talk to it only through:

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
- ``broker.acquire()`` / ``await broker.release()`` — a transport starts / stops using the broker; a broker owning
  a connection closes it when the last user released it (a later use connects anew). Brokers shared by a whole
  process (the in-memory ones) count nothing.

Every implementation satisfies :class:`Broker` as mypy checks it: each bus names its own
``Broker[Subscription, Publication, Declared]`` and the modules building brokers are typed with it.

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
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, NoReturn, Protocol, TypeVar

if TYPE_CHECKING:
    from tomodachi.runtime.environment import Environment

SubscriptionT = TypeVar("SubscriptionT", contravariant=True)
PublicationT = TypeVar("PublicationT", contravariant=True)
DeclaredT = TypeVar("DeclaredT", covariant=True)

ENVIRONMENT_CONTEXT_KEY = "_tomodachi_environment"

# told the outcome ("ack", "retry", "dead_letter", "abandoned") when a delivery is settled
SettleCallback = Callable[[str], None]


class Delivery(ABC):
    """One received message plus the means to settle it; settling is idempotent (first call wins)."""

    # what every delivery starts with, as class attributes: one delivery is made per message, and most keep these
    outcome: str | None = None  # "ack" | "retry" | "dead_letter" once settled
    # the task running this delivery's pipeline (set by the transport): lets tests see what it waits on
    handler_task: asyncio.Task[Any] | None = None
    handler: str = ""  # "<service>.<handler>" running it (set by the pipeline)
    # raised in place of the handler (a test's in-memory broker injecting a failed attempt)
    injected_fault: BaseException | None = None
    _settled: asyncio.Event | None = None
    _completed: bool = False
    _settle_callbacks: list[SettleCallback] | None = None

    def __init__(
        self,
        *,
        body: str | bytes,
        attributes: Mapping[str, object] | None = None,
        receive_count: int = 1,
        redelivered: bool = False,
        delivery_id: str = "",
        metadata: Mapping[str, object] | None = None,
    ) -> None:
        self.body = body
        self.attributes: dict[str, Any] = dict(attributes or {})
        self.receive_count = receive_count
        self.redelivered = redelivered
        self.delivery_id = delivery_id
        self.metadata: dict[str, Any] = dict(metadata or {})

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
                self._completed = True  # _complete(), inline: every message is acked once
                if self._settled is not None:
                    self._settled.set()

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

    def on_settled(self, callback: SettleCallback) -> None:
        """Call ``callback(outcome)`` when this delivery is settled (at once if it already is): instrumentation
        learns whether a handler's message was acked, retried or dead-lettered, which the pipeline decides after
        the handler returned."""
        if self.outcome is not None:
            callback(self.outcome)
        elif self._settle_callbacks is None:
            self._settle_callbacks = [callback]
        else:
            self._settle_callbacks.append(callback)

    def _claim(self, outcome: str) -> bool:
        if self.outcome is not None:
            return False
        self.outcome = outcome
        if self._settled is not None:
            self._settled.set()
        if self._settle_callbacks is not None:
            callbacks, self._settle_callbacks = self._settle_callbacks, None
            for callback in callbacks:
                try:
                    callback(outcome)
                except Exception:  # an observer's fault must never keep a message from being settled
                    import logging

                    logging.getLogger("tomodachi.messaging").exception("a settle callback failed")
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

# the delivery whose handler (and middlewares) the current task is running, set by the message pipeline
current_delivery: ContextVar[Delivery | None] = ContextVar("tomodachi_current_delivery", default=None)


class Consumer(Protocol):
    """A running subscription; ``cancel()`` stops new deliveries at once (in-flight ones stay unsettled)."""

    async def cancel(self) -> None: ...


class Broker(Protocol[SubscriptionT, PublicationT, DeclaredT]):
    """One connection to one message bus; see the module docstring for the contract.

    Parameterised by the bus's subscription and publish descriptors and by what ``declare`` answers (``None``
    for AMQP; the declared queue for SNS+SQS)."""

    async def declare(self, subscription: SubscriptionT) -> DeclaredT: ...

    async def consume(self, subscription: SubscriptionT, on_delivery: DeliveryCallback) -> Consumer: ...

    async def publish(self, publication: PublicationT) -> str | None: ...

    async def close(self) -> None: ...

    def acquire(self) -> None: ...

    async def release(self) -> None: ...


# a broker of some bus: all that is known without knowing the bus is how to acquire, release and close it (every
# Broker[S, P, D] is one, as subscriptions and publications are contravariant)
AnyBroker = Broker[NoReturn, NoReturn, object]

RecordT = TypeVar("RecordT")


def trim_history(records: list[RecordT], limit: int | None) -> None:
    """Keep a memory broker's log of publishes to about ``limit`` entries (``None``: keep all, as tests do).

    Trimmed in halves so a long-running embedded process pays O(1) per publish on average."""
    if limit is not None and len(records) > 2 * limit:
        del records[: len(records) - limit]


def environment_of(service: object) -> Environment:
    """The Environment a service runs in, as recorded by its container or transports (:func:`remember_environment`).

    A service used outside any container (an instance built by hand to publish from a script) gets an Environment
    of its own on first use — real clock, real brokers — remembered on it, so its publishes share one broker.
    """
    context = getattr(service, "context", None)
    if isinstance(context, dict):
        found = context.get(ENVIRONMENT_CONTEXT_KEY)
    else:
        found = getattr(service, ENVIRONMENT_CONTEXT_KEY, None)
    if found is not None:
        environment: Environment = found
        return environment
    from tomodachi.runtime.environment import Environment

    standalone = Environment()
    remember_environment(service, standalone)
    return standalone


def remember_environment(service: object, environment: Environment) -> None:
    """Record the service's Environment in its ``context`` so publish calls find it."""
    context = getattr(service, "context", None)
    if isinstance(context, dict):
        context[ENVIRONMENT_CONTEXT_KEY] = environment
    else:
        try:
            setattr(service, ENVIRONMENT_CONTEXT_KEY, environment)
        except AttributeError:
            pass
