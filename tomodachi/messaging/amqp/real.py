"""The RabbitMQ broker on aioamqp: declare / consume / publish / settle like the memory broker, plus reconnect with
back-off, durable delayed retries (per-delay TTL queues) and attempt counting in a message header."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from tomodachi.logging import framework_logger
from tomodachi.messaging.amqp.confirms import PUBLISH_ERRORS, FailedPublication
from tomodachi.messaging.amqp.connection import (
    LINK_ERRORS,
    LINK_OR_TIMEOUT,
    AmqpChannel,
    AmqpLink,
    bounded,
    channel_error,
    write_frame,
)
from tomodachi.messaging.amqp.delivery import ATTEMPT_HEADER, RealAmqpDelivery
from tomodachi.messaging.amqp.descriptors import AmqpProperties, AmqpPublication, AmqpSubscription
from tomodachi.messaging.amqp.exceptions import (
    AmqpChannelClosed,
    AmqpConnectionException,
    AmqpExclusiveQueueLockedException,
    AmqpTooManyConsumersException,
)
from tomodachi.messaging.amqp.naming import (
    DEAD_LETTER_EXCHANGE,
    dead_letter_queue_name,
    delay_queue_name,
    expiry_arguments,
)
from tomodachi.messaging.amqp.publisher import AmqpPublisher
from tomodachi.messaging.amqp.republish import FailedRepublishes, copy_properties, signing_key
from tomodachi.messaging.amqp.settings import AmqpSettings
from tomodachi.messaging.amqp.wire import encode_ack, encode_nack
from tomodachi.messaging.broker import DeliveryCallback
from tomodachi.runtime.clock import Clock

if TYPE_CHECKING:
    from aioamqp.envelope import Envelope
    from aioamqp.properties import Properties

logger = framework_logger("tomodachi.amqp")

RECONNECT_DELAYS = (0.5, 1.0, 2.0, 5.0, 10.0)
DELAY_QUEUE_SLACK_MS = 60_000  # a delay queue outlives its message TTL by this much, then RabbitMQ removes it
RECONNECT_ERRORS: tuple[type[BaseException], ...] = (AmqpConnectionException, AmqpChannelClosed, *LINK_OR_TIMEOUT)


class RealAmqpConsumer:
    """One ``basic_consume`` on the broker's consume channel; re-registered after every reconnect."""

    def __init__(self, broker: RealAmqpBroker, subscription: AmqpSubscription, callback: DeliveryCallback) -> None:
        self.broker = broker
        self.subscription = subscription
        self.callback = callback
        self.active = True
        self.channel: AmqpChannel | None = None
        self.tag: str | None = None

    async def cancel(self) -> None:
        if not self.active:
            return
        self.active = False
        self.broker._forget(self)
        channel, tag = self.channel, self.tag
        if channel is not None and tag and channel.is_open:
            try:
                await bounded(self.broker.clock, channel.basic_cancel(tag), 10.0, "basic.cancel")
            except LINK_OR_TIMEOUT as exc:
                logger.info("amqp consumer cancel failed (connection gone)", error=repr(exc))


class RealAmqpBroker:
    """RabbitMQ behind the Broker interface (see :mod:`tomodachi.messaging.broker`); one connection per settings.

    - The first ``declare``/``consume``/``publish`` connects; failing that raises ``AmqpConnectionException``.
    - A lost connection is logged and re-established with back-off on the Clock; exchanges, queues, bindings
      and consumers are restored. Unsettled deliveries of the dead connection come back from RabbitMQ.
    - ``publish`` waits up to ``publish_timeout`` seconds for a connection, writes the message and returns; with
      ``publisher_confirms`` (default) RabbitMQ's confirm is awaited by the unit of work's publish scope, by a
      full window of unconfirmed publishes or by ``close()`` (see :mod:`tomodachi.messaging.amqp.confirms`).
    - ``retry(delay)`` publishes a copy (attempt header + 1) to ``<queue>.retry.<ms>ms`` — a queue with that
      message TTL dead-lettering back to ``<queue>`` — and then acks the original; ``delay == 0`` republishes
      straight to ``<queue>``. ``dead_letter`` publishes to ``tomodachi.dead-letter`` → ``<queue>.dlq``.
    """

    def __init__(
        self,
        settings: AmqpSettings,
        clock: Clock,
        *,
        connect_timeout: float = 10.0,
        publish_timeout: float = 30.0,
        reconnect_delays: tuple[float, ...] = RECONNECT_DELAYS,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.connect_timeout = connect_timeout
        self.publish_timeout = publish_timeout
        self.reconnect_delays = reconnect_delays or (1.0,)
        self.connections_made = 0  # inspection: 1 + number of successful reconnects
        self.declared_queues: set[str] = set()  # inspection: every queue this broker declared (never cleared)
        self.declared_exchanges: set[str] = set()
        self._link: AmqpLink | None = None
        self._ready = asyncio.Event()
        self._start_lock = asyncio.Lock()
        self._consume_lock = asyncio.Lock()
        self._qos_set: tuple[AmqpChannel, int] | None = None  # the consume channel and the prefetch it was given
        self._supervisor: asyncio.Task[None] | None = None
        self._watchers: set[asyncio.Task[None]] = set()
        self._subscriptions: dict[str, AmqpSubscription] = {}
        self._consumers: list[RealAmqpConsumer] = []
        self._declared: set[tuple[str, str]] = set()  # per link: lazily declared exchanges / dead-letter queues
        self.failed_republishes = FailedRepublishes()
        self.signing_key = signing_key(settings.login, settings.password, settings.virtualhost)
        self.publisher = AmqpPublisher(self, confirms=settings.publisher_confirms)
        self._users = 0
        self._closing = False

    @property
    def where(self) -> str:
        return f"{self.settings.host}:{self.settings.port}"

    @property
    def connected(self) -> bool:
        return self._link is not None and self._link.is_open and self._ready.is_set()

    # ---- Broker interface -------------------------------------------------------------------------------

    async def declare(self, subscription: AmqpSubscription) -> None:
        link = await self._ready_link(self.connect_timeout)
        await self._declare_on(link, subscription, check_consumers=True)
        self._subscriptions[subscription.queue_name] = subscription

    async def consume(self, subscription: AmqpSubscription, on_delivery: DeliveryCallback) -> RealAmqpConsumer:
        consumer = RealAmqpConsumer(self, subscription, on_delivery)
        self._subscriptions.setdefault(subscription.queue_name, subscription)
        self._consumers.append(consumer)
        link = await self._ready_link(self.connect_timeout)
        try:
            await self._consume_on(link, consumer)
        except BaseException:
            self._forget(consumer)
            raise
        return consumer

    async def publish(self, publication: AmqpPublication) -> str | None:
        """Publish persistently (reconnecting meanwhile if needed); see :class:`AmqpPublisher` for confirms."""
        return await self.publisher.publish(publication)

    @property
    def failed_publications(self) -> list[FailedPublication]:
        """Publishes never confirmed by RabbitMQ (each was logged at ERROR): the last 1,000."""
        return list(self.publisher.failed)

    async def close(self) -> None:
        """Cancel consumers, wait for the unconfirmed publishes (up to ``publish_timeout``), close channels and
        the connection. The broker may be used again afterwards (a later publish connects anew)."""
        for consumer in list(self._consumers):
            await consumer.cancel()
        await self.publisher.flush(self.publish_timeout)
        self._closing = True
        try:
            for task in [self._supervisor, *self._watchers]:
                if task is not None:
                    task.cancel()
            self._watchers.clear()
            self._supervisor = None
            self._ready.clear()
            link, self._link = self._link, None
            if link is not None:
                await link.close()
            self.publisher.reset()
            self._subscriptions.clear()
            self._declared.clear()
        finally:
            self._closing = False

    def acquire(self) -> None:
        """A transport starts using this broker (see :meth:`release`)."""
        self._users += 1

    async def release(self) -> None:
        """A transport stopped; the last one out closes the connection."""
        self._users = max(0, self._users - 1)
        if self._users == 0:
            await self.close()

    # ---- connection management --------------------------------------------------------------------------

    async def _ready_link(self, timeout: float) -> AmqpLink:
        if self._supervisor is None:
            async with self._start_lock:
                if self._supervisor is None:
                    opened = await AmqpLink.open(self.settings, self.clock, self.connect_timeout)
                    self.connections_made += 1
                    self._link = opened
                    self._declared.clear()
                    self._ready.set()
                    self._supervisor = asyncio.get_running_loop().create_task(self._supervise())
                    logger.info("amqp connected", host=self.where)
        deadline = self.clock.monotonic() + timeout
        while True:
            link = self._link
            if link is not None and link.is_open and self._ready.is_set():
                return link
            if link is not None and not link.is_open:
                self._ready.clear()
            remaining = deadline - self.clock.monotonic()
            if remaining <= 0:
                raise AmqpConnectionException(
                    f"Unable to connect [amqp] to {self.where} (not reconnected within {timeout:g}s)"
                )
            try:
                await bounded(self.clock, self._ready.wait(), remaining, "reconnect")
            except TimeoutError:
                continue

    async def _supervise(self) -> None:
        while not self._closing:
            link = self._link
            if link is None:
                return
            await link.wait_closed()
            if self._closing or self._link is not link:
                return
            self._ready.clear()
            logger.warning("amqp connection lost, reconnecting", host=self.where)
            await self._reconnect()

    async def _reconnect(self) -> None:
        attempt = 0
        while not self._closing:
            delay = self.reconnect_delays[min(attempt, len(self.reconnect_delays) - 1)]
            attempt += 1
            await self.clock.sleep(delay)
            fresh: AmqpLink | None = None
            try:
                fresh = await AmqpLink.open(self.settings, self.clock, self.connect_timeout)
                self._link = fresh
                self._declared.clear()
                for subscription in list(self._subscriptions.values()):
                    await self._declare_on(fresh, subscription, check_consumers=False)
                for consumer in list(self._consumers):
                    await self._consume_on(fresh, consumer)
            except RECONNECT_ERRORS as exc:
                logger.warning(
                    "amqp reconnect failed, retrying",
                    host=self.where,
                    attempt=attempt,
                    error=str(exc) or repr(exc),
                )
                if fresh is not None:
                    fresh.abort()
                continue
            self.connections_made += 1
            self._ready.set()
            logger.warning("amqp reconnected", host=self.where, attempts=attempt)
            return

    def _watch_consume_channel(self, link: AmqpLink, channel: AmqpChannel) -> None:
        async def watch() -> None:
            await channel.close_event.wait()
            if not self._closing and self._link is link and link.is_open:
                # consumers died with the channel: start over on a fresh connection
                logger.error("amqp consume channel closed by the broker; reconnecting", host=self.where)
                link.abort()

        task = asyncio.get_running_loop().create_task(watch())
        self._watchers.add(task)
        task.add_done_callback(self._watchers.discard)

    def _forget(self, consumer: RealAmqpConsumer) -> None:
        if consumer in self._consumers:
            self._consumers.remove(consumer)

    # ---- declare / consume ------------------------------------------------------------------------------

    async def _declare_exchange(self, link: AmqpLink, name: str, type: str) -> None:
        channel = await link.channel("control")
        try:
            await channel.exchange_declare(name, type, durable=True, auto_delete=False)
        except LINK_ERRORS as exc:
            raise self._declare_error(exc, f"declare exchange {name!r} ({type})") from exc
        self._declared.add(("exchange", name))
        self.declared_exchanges.add(name)

    async def _declare_on(self, link: AmqpLink, subscription: AmqpSubscription, *, check_consumers: bool) -> None:
        exchange = subscription.exchange_name or "amq.topic"
        if exchange != "amq.topic":
            await self._declare_exchange(link, exchange, subscription.exchange_type)
        channel = await link.channel("control")
        queue = subscription.queue_name
        try:
            result = await channel.queue_declare(
                queue,
                durable=True,
                exclusive=False,
                auto_delete=False,
                arguments=expiry_arguments(subscription.queue_ttl),
            )
        except LINK_ERRORS as exc:
            raise self._declare_error(exc, f"declare queue {queue!r}") from exc
        self.declared_queues.add(queue)
        if check_consumers and not subscription.competing and int(result.get("consumer_count") or 0) > 0:
            raise AmqpTooManyConsumersException(f"Max consumers for queue {queue!r} has been reached")
        try:
            await channel.queue_bind(queue, exchange, subscription.binding_key)
        except LINK_ERRORS as exc:
            raise self._declare_error(exc, f"bind queue {queue!r} to {exchange!r}") from exc
        if subscription.dead_letter_queue:
            try:
                await self._declare_dead_letter_queue(link, subscription)
            except LINK_ERRORS as exc:
                raise self._declare_error(exc, f"declare dead-letter queue {subscription.dead_letter_queue!r}") from exc

    async def _declare_dead_letter_queue(self, link: AmqpLink, subscription: AmqpSubscription) -> None:
        """``<queue>.dlq`` bound to the direct exchange ``tomodachi.dead-letter`` with the key ``<queue>``. Kept
        until someone looks at it, except for a per-instance queue's: that expires with the queue (x-expires)."""
        queue = subscription.queue_name
        dead_letter_queue = subscription.dead_letter_queue or dead_letter_queue_name(queue)
        channel = await link.channel("control")
        await channel.exchange_declare(DEAD_LETTER_EXCHANGE, "direct", durable=True, auto_delete=False)
        await channel.queue_declare(
            dead_letter_queue,
            durable=True,
            exclusive=False,
            auto_delete=False,
            arguments=expiry_arguments(subscription.dead_letter_queue_ttl),
        )
        await channel.queue_bind(dead_letter_queue, DEAD_LETTER_EXCHANGE, queue)
        self._declared.add(("dead-letter", dead_letter_queue))
        self.declared_queues.add(dead_letter_queue)
        self.declared_exchanges.add(DEAD_LETTER_EXCHANGE)

    def _declare_error(self, exc: BaseException, what: str) -> Exception:
        if self._link is None or not self._link.is_open:
            return AmqpConnectionException(f"Unable to connect [amqp] to {self.where} ({what}: {exc!r})")
        error = channel_error(exc, what)
        logger.error("amqp declare failed", error=str(error), code=error.code)
        if error.code == 405:
            return AmqpExclusiveQueueLockedException(str(error))
        return error

    async def _consume_on(self, link: AmqpLink, consumer: RealAmqpConsumer) -> None:
        async with self._consume_lock:
            if not consumer.active:
                return
            channel = link.current_channel("consume")
            if consumer.channel is not None and consumer.channel is channel:
                return  # already consuming on this link
            if channel is None:
                channel = await link.channel("consume")
                channel.add_cancellation_callback(self._on_server_cancel)
                self._watch_consume_channel(link, channel)
            prefetch = consumer.subscription.prefetch_count
            if self._qos_set != (channel, prefetch):
                # the per-consumer limit (for the consumers started after it) first, then the channel's: RabbitMQ
                # stops applying a global limit that a per-consumer basic.qos follows
                await channel.basic_qos(prefetch_count=prefetch, connection_global=False)
                await channel.basic_qos(prefetch_count=self.settings.global_prefetch_count, connection_global=True)
                self._qos_set = (channel, prefetch)

            async def on_message(channel: AmqpChannel, body: bytes, envelope: Envelope, properties: Properties) -> None:
                self._deliver(consumer, channel, body, envelope, properties)

            try:
                result = await channel.basic_consume(on_message, queue_name=consumer.subscription.queue_name)
            except LINK_ERRORS as exc:
                raise self._declare_error(exc, f"consume queue {consumer.subscription.queue_name!r}") from exc
            consumer.channel = channel
            consumer.tag = str(result["consumer_tag"])

    async def _on_server_cancel(self, channel: AmqpChannel, consumer_tag: str) -> None:
        for consumer in self._consumers:
            if consumer.tag == consumer_tag and consumer.active and not self._closing:
                logger.warning(
                    "amqp consumer cancelled by the broker (queue deleted?); reconnecting to restore it",
                    queue=consumer.subscription.queue_name,
                )
                if self._link is not None:
                    self._link.abort()
                return

    def _deliver(
        self, consumer: RealAmqpConsumer, channel: AmqpChannel, body: bytes, envelope: Envelope, properties: Properties
    ) -> None:
        if not consumer.active:
            # raced our basic.cancel: hand it straight back
            self.nack(channel, envelope.delivery_tag)
            return
        delivery = RealAmqpDelivery(self, consumer, channel, body, envelope, properties)
        try:
            consumer.callback(delivery)
        except Exception:
            logger.exception("delivery callback failed; message requeued", queue=delivery.delivery_id)
            self.nack(channel, envelope.delivery_tag)

    # ---- settling -----------------------------------------------------------------------------------------

    def ack(self, channel: AmqpChannel, tag: int) -> None:
        if not write_frame(channel, encode_ack(channel.channel_id, tag)):
            logger.info("amqp ack skipped: its channel is gone, RabbitMQ redelivers the message")

    def nack(self, channel: AmqpChannel, tag: int) -> None:
        """Hand a delivery back to its queue (requeue); nothing to do once its channel is gone."""
        write_frame(channel, encode_nack(channel.channel_id, tag))

    async def _confirmed_publish(
        self, link: AmqpLink, exchange: str, routing_key: str, body: bytes, properties: AmqpProperties
    ) -> None:
        await self.publisher.publish_copy(link, exchange, routing_key, body, properties)

    async def _requeue_copy(
        self, subscription: AmqpSubscription, body: bytes, properties: AmqpProperties, delay: float
    ) -> bool:
        """Put a copy back on the queue after ``delay`` seconds (via a TTL queue); False if that failed."""
        link = self._link
        if link is None or not link.is_open:
            return False
        queue = subscription.queue_name
        delay_ms = int(round(delay * 1000))
        try:
            if delay_ms <= 0:
                await self._confirmed_publish(link, "", queue, body, properties)
                return True
            target = delay_queue_name(queue, delay_ms)
            self.declared_queues.add(target)
            channel = await link.channel("control")
            # declared on every use: re-declaring restarts its x-expires timer, so it never expires holding a message
            await channel.queue_declare(
                target,
                durable=True,
                exclusive=False,
                auto_delete=False,
                arguments={
                    "x-message-ttl": delay_ms,
                    "x-dead-letter-exchange": "",
                    "x-dead-letter-routing-key": queue,
                    "x-expires": delay_ms + DELAY_QUEUE_SLACK_MS,
                },
            )
            await self._confirmed_publish(link, "", target, body, properties)
            return True
        except PUBLISH_ERRORS as exc:
            logger.warning("amqp retry publish failed; requeueing the original instead", error=repr(exc))
            return False

    async def _publish_dead_letter(
        self, subscription: AmqpSubscription, body: bytes, headers: Mapping[str, Any], properties: AmqpProperties
    ) -> bool:
        link = self._link
        if link is None or not link.is_open:
            return False
        queue = subscription.queue_name
        dead_letter_queue = subscription.dead_letter_queue or dead_letter_queue_name(queue)
        try:
            if subscription.dead_letter_queue_ttl or ("dead-letter", dead_letter_queue) not in self._declared:
                # normally declared with the queue; declare again after a reconnect raced the declare, and always
                # when it expires: it is unused (no consumer) while the service runs, so it may be gone by now,
                # and the dead letter would be dropped as unroutable — re-declaring recreates it / renews its lease
                await self._declare_dead_letter_queue(link, subscription)
            copy = copy_properties(properties, dict(headers))
            await self._confirmed_publish(link, DEAD_LETTER_EXCHANGE, queue, body, copy)
            return True
        except PUBLISH_ERRORS as exc:
            logger.error("amqp dead-letter publish failed; the message stays on its queue", error=repr(exc))
            return False


def create_broker(settings: AmqpSettings, clock: Clock) -> RealAmqpBroker:
    """Default factory used when the Environment has no ``amqp`` broker factory."""
    return RealAmqpBroker(settings, clock)


__all__ = [
    "ATTEMPT_HEADER",
    "RealAmqpBroker",
    "RealAmqpConsumer",
    "RealAmqpDelivery",
    "create_broker",
    "delay_queue_name",
]
