"""The RabbitMQ broker on aioamqp: declare / consume / publish / settle like the memory broker, plus reconnect with
back-off, durable delayed retries (per-delay TTL queues) and attempt counting in a message header."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from tomodachi.messaging.amqp.connection import LINK_ERRORS, LINK_OR_TIMEOUT, AmqpLink, bounded, channel_error
from tomodachi.messaging.amqp.descriptors import AmqpProperties, AmqpPublication, AmqpSubscription
from tomodachi.messaging.amqp.exceptions import (
    AmqpChannelClosed,
    AmqpConnectionException,
    AmqpExclusiveQueueLockedException,
    AmqpTooManyConsumersException,
)
from tomodachi.messaging.amqp.naming import DEAD_LETTER_EXCHANGE, dead_letter_queue_name, decode_routing_key
from tomodachi.messaging.amqp.republish import (
    SIGNATURE_HEADER,
    FailedRepublishes,
    bookkeeping_signature,
    copy_properties,
    signed_by_us,
    signing_key,
)
from tomodachi.messaging.amqp.settings import AmqpSettings
from tomodachi.messaging.broker import Delivery, DeliveryCallback
from tomodachi.runtime.clock import Clock

logger = logging.getLogger("tomodachi.amqp")

# bookkeeping headers on retried copies: receives so far, and where the message was first published
ATTEMPT_HEADER = "x-tomodachi-attempt"
ROUTING_KEY_HEADER = "x-tomodachi-routing-key"
EXCHANGE_HEADER = "x-tomodachi-exchange"
BOOKKEEPING_HEADERS = (ATTEMPT_HEADER, ROUTING_KEY_HEADER, EXCHANGE_HEADER)
SIGNED_HEADERS = (*BOOKKEEPING_HEADERS, SIGNATURE_HEADER)

RECONNECT_DELAYS = (0.5, 1.0, 2.0, 5.0, 10.0)
DELAY_QUEUE_SLACK_MS = 60_000  # a delay queue outlives its message TTL by this much, then RabbitMQ removes it
DEAD_LETTER_FAILURE_BACKOFF = 5.0
RECONNECT_ERRORS: tuple[type[BaseException], ...] = (AmqpConnectionException, AmqpChannelClosed, *LINK_OR_TIMEOUT)


def delay_queue_name(queue_name: str, delay_ms: int) -> str:
    return f"{queue_name}.retry.{delay_ms}ms"


class RealAmqpConsumer:
    """One ``basic_consume`` on the broker's consume channel; re-registered after every reconnect."""

    def __init__(self, broker: RealAmqpBroker, subscription: AmqpSubscription, callback: DeliveryCallback) -> None:
        self.broker = broker
        self.subscription = subscription
        self.callback = callback
        self.active = True
        self.channel: Any = None
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
                logger.info("amqp consumer cancel failed (connection gone)", extra={"error": repr(exc)})


class RealAmqpDelivery(Delivery):
    """A message from RabbitMQ. Settling on a channel that died since is a no-op: RabbitMQ redelivers it."""

    def __init__(
        self, broker: RealAmqpBroker, consumer: RealAmqpConsumer, channel: Any, body: bytes, envelope: Any, props: Any
    ) -> None:
        headers = {str(k): _text(v) for k, v in dict(getattr(props, "headers", None) or {}).items()}
        queue = consumer.subscription.queue_name
        if any(name in headers for name in SIGNED_HEADERS) and not signed_by_us(
            headers, broker.signing_key, queue, body, BOOKKEEPING_HEADERS
        ):
            # written by a publisher, not by our retry: a forged attempt count, routing key or exchange is ignored
            headers = {k: v for k, v in headers.items() if k not in SIGNED_HEADERS}
        previous = _int(headers.get(ATTEMPT_HEADER))
        redelivered = bool(envelope.is_redeliver)
        # classic queues do not count deliveries: the header carries receives of earlier copies, and a
        # redelivery (connection lost before the settle) counts as one more
        receive_count = previous + 1 + (1 if redelivered else 0)
        # what FailedRepublishes knows this message by (nothing is hashed unless a republish has failed)
        self._identity = (queue, props.message_id, body)
        receive_count += broker.failed_republishes.count(*self._identity)
        wire_key = str(headers.get(ROUTING_KEY_HEADER) or envelope.routing_key)
        exchange = str(headers.get(EXCHANGE_HEADER, envelope.exchange_name) or "")
        properties = _from_aioamqp(props, headers)
        super().__init__(
            body=body,
            attributes=headers,
            receive_count=receive_count,
            redelivered=redelivered,
            delivery_id=f"{queue}:{envelope.delivery_tag}",
            metadata={
                "routing_key": decode_routing_key(wire_key),
                "exchange_name": exchange,
                "properties": properties,
                "queue_name": queue,
                "consumer_tag": envelope.consumer_tag,
                "delivery_tag": envelope.delivery_tag,
            },
        )
        self._broker = broker
        self._subscription = consumer.subscription
        self._channel = channel
        self._tag = envelope.delivery_tag
        self._wire_key = wire_key
        self._exchange = exchange
        self._properties = properties

    async def _ack(self) -> None:
        await self._broker._ack(self._channel, self._tag)

    async def _retry(self, delay: float) -> None:
        queue = self._subscription.queue_name
        signature = bookkeeping_signature(
            self._broker.signing_key, queue, self.receive_count, self._wire_key, self._exchange, self.body_bytes
        )
        headers = {
            **{k: v for k, v in self._properties.headers.items() if k not in SIGNED_HEADERS},
            ATTEMPT_HEADER: self.receive_count,
            ROUTING_KEY_HEADER: self._wire_key,
            EXCHANGE_HEADER: self._exchange,
            SIGNATURE_HEADER: signature,
        }
        copy = copy_properties(self._properties, headers)
        if not self._channel.is_open:
            return  # the original comes back by itself
        if await self._broker._requeue_copy(self._subscription, self.body_bytes, copy, delay):
            self._broker.failed_republishes.forget(
                self._subscription.queue_name, self._properties.message_id, self.body_bytes
            )
            await self._broker._ack(self._channel, self._tag)
        else:
            # the attempt counts all the same
            self._broker.failed_republishes.add(
                self._subscription.queue_name, self._properties.message_id, self.body_bytes
            )
            await self._broker._nack(self._channel, self._tag)

    async def _dead_letter(self, reason: str) -> None:
        headers = {
            **{k: v for k, v in self._properties.headers.items() if k not in SIGNED_HEADERS},
            "x-tomodachi-dead-letter-reason": reason,
            "x-tomodachi-original-queue": self._subscription.queue_name,
            "x-tomodachi-original-exchange": self._exchange,
            "x-tomodachi-original-routing-key": self._wire_key,
            "x-tomodachi-delivery-count": self.receive_count,
        }
        if not self._channel.is_open:
            return
        if await self._broker._publish_dead_letter(self._subscription, self.body_bytes, headers, self._properties):
            self._broker.failed_republishes.forget(
                self._subscription.queue_name, self._properties.message_id, self.body_bytes
            )
            await self._broker._ack(self._channel, self._tag)
        else:
            # keep it: back on the queue after a pause (never a hot loop, never lost)
            self._broker.clock.call_later(
                DEAD_LETTER_FAILURE_BACKOFF,
                lambda: asyncio.ensure_future(self._broker._nack(self._channel, self._tag)),
            )

    @property
    def body_bytes(self) -> bytes:
        return self.body if isinstance(self.body, bytes) else self.body.encode("utf-8")


class RealAmqpBroker:
    """RabbitMQ behind the Broker interface (see :mod:`tomodachi.messaging.broker`); one connection per settings.

    - The first ``declare``/``consume``/``publish`` connects; failing that raises ``AmqpConnectionException``.
    - A lost connection is logged and re-established with back-off on the Clock; exchanges, queues, bindings
      and consumers are restored. Unsettled deliveries of the dead connection come back from RabbitMQ.
    - ``publish`` waits up to ``publish_timeout`` seconds for a connection and for RabbitMQ's confirm.
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
        self._supervisor: asyncio.Task[None] | None = None
        self._watchers: set[asyncio.Task[None]] = set()
        self._subscriptions: dict[str, AmqpSubscription] = {}
        self._consumers: list[RealAmqpConsumer] = []
        self._declared: set[tuple[str, str]] = set()  # per link: lazily declared exchanges / dead-letter queues
        self.failed_republishes = FailedRepublishes()
        self.signing_key = signing_key(settings.login, settings.password, settings.virtualhost)
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
        """Publish persistently and wait for RabbitMQ's confirm (reconnecting meanwhile if needed)."""
        deadline = self.clock.monotonic() + self.publish_timeout
        properties = _to_pamqp(publication.properties)
        declared_exchange = False
        while True:
            remaining = deadline - self.clock.monotonic()
            link = await self._ready_link(max(0.0, remaining))
            try:
                channel = await link.channel("publish")
                await bounded(
                    self.clock,
                    channel.publish(publication.body, publication.exchange_name, publication.routing_key, properties),
                    max(0.1, deadline - self.clock.monotonic()),
                    "publish confirm",
                )
                return publication.properties.message_id
            except TimeoutError as exc:
                raise AmqpConnectionException(
                    f"publish [amqp] to {self.where} not confirmed within {self.publish_timeout:g}s"
                ) from exc
            except LINK_ERRORS as exc:
                if link.is_open:
                    error = channel_error(exc, f"publish to exchange {publication.exchange_name!r}")
                    if error.code == 404 and not declared_exchange and _declarable(publication.exchange_name):
                        # publish-only services: create the topic exchange like a subscriber would
                        declared_exchange = True
                        await self._declare_exchange(link, publication.exchange_name, "topic")
                        continue
                    if error.code is not None:
                        raise error from exc
                logger.warning("amqp publish interrupted, retrying", extra={"error": repr(exc)})
                if self.clock.monotonic() >= deadline:
                    raise AmqpConnectionException(f"publish [amqp] to {self.where} failed: {exc!r}") from exc
                if link.is_open:
                    await self.clock.sleep(0.1)

    async def close(self) -> None:
        """Cancel consumers, close channels and the connection. The broker may be used again afterwards
        (a later publish connects anew)."""
        self._closing = True
        try:
            for consumer in list(self._consumers):
                await consumer.cancel()
            for task in [self._supervisor, *self._watchers]:
                if task is not None:
                    task.cancel()
            self._watchers.clear()
            self._supervisor = None
            self._ready.clear()
            link, self._link = self._link, None
            if link is not None:
                await link.close()
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
                    logger.info("amqp connected", extra={"host": self.where})
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
            logger.warning("amqp connection lost, reconnecting", extra={"host": self.where})
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
                    extra={"host": self.where, "attempt": attempt, "error": str(exc) or repr(exc)},
                )
                if fresh is not None:
                    fresh.abort()
                continue
            self.connections_made += 1
            self._ready.set()
            logger.warning("amqp reconnected", extra={"host": self.where, "attempts": attempt})
            return

    def _watch_consume_channel(self, link: AmqpLink, channel: Any) -> None:
        async def watch() -> None:
            await channel.close_event.wait()
            if not self._closing and self._link is link and link.is_open:
                # consumers died with the channel: start over on a fresh connection
                logger.error("amqp consume channel closed by the broker; reconnecting", extra={"host": self.where})
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
                queue, durable=True, exclusive=False, auto_delete=False, arguments=_expiry(subscription.queue_ttl)
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
            arguments=_expiry(subscription.dead_letter_queue_ttl),
        )
        await channel.queue_bind(dead_letter_queue, DEAD_LETTER_EXCHANGE, queue)
        self._declared.add(("dead-letter", dead_letter_queue))
        self.declared_queues.add(dead_letter_queue)
        self.declared_exchanges.add(DEAD_LETTER_EXCHANGE)

    def _declare_error(self, exc: BaseException, what: str) -> Exception:
        if self._link is None or not self._link.is_open:
            return AmqpConnectionException(f"Unable to connect [amqp] to {self.where} ({what}: {exc!r})")
        error = channel_error(exc, what)
        logger.error("amqp declare failed", extra={"error": str(error), "code": error.code})
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
                await channel.basic_qos(prefetch_count=self.settings.global_prefetch_count, connection_global=True)
                channel.add_cancellation_callback(self._on_server_cancel)
                self._watch_consume_channel(link, channel)
            # per-consumer prefetch applies to the consumers started after it on this channel
            await channel.basic_qos(prefetch_count=consumer.subscription.prefetch_count, connection_global=False)

            async def on_message(channel: Any, body: bytes, envelope: Any, properties: Any) -> None:
                self._deliver(consumer, channel, body, envelope, properties)

            try:
                result = await channel.basic_consume(on_message, queue_name=consumer.subscription.queue_name)
            except LINK_ERRORS as exc:
                raise self._declare_error(exc, f"consume queue {consumer.subscription.queue_name!r}") from exc
            consumer.channel = channel
            consumer.tag = str(result["consumer_tag"])

    async def _on_server_cancel(self, channel: Any, consumer_tag: str) -> None:
        for consumer in self._consumers:
            if consumer.tag == consumer_tag and consumer.active and not self._closing:
                logger.warning(
                    "amqp consumer cancelled by the broker (queue deleted?); reconnecting to restore it",
                    extra={"queue": consumer.subscription.queue_name},
                )
                if self._link is not None:
                    self._link.abort()
                return

    def _deliver(self, consumer: RealAmqpConsumer, channel: Any, body: bytes, envelope: Any, properties: Any) -> None:
        if not consumer.active:
            # raced our basic.cancel: hand it straight back
            asyncio.ensure_future(self._nack(channel, envelope.delivery_tag))
            return
        delivery = RealAmqpDelivery(self, consumer, channel, body, envelope, properties)
        try:
            consumer.callback(delivery)
        except Exception:
            logger.exception("delivery callback failed; message requeued", extra={"queue": delivery.delivery_id})
            asyncio.ensure_future(self._nack(channel, envelope.delivery_tag))

    # ---- settling -----------------------------------------------------------------------------------------

    async def _ack(self, channel: Any, tag: int) -> None:
        if not channel.is_open:
            logger.info("amqp ack skipped: its channel is gone, RabbitMQ redelivers the message")
            return
        try:
            await channel.basic_client_ack(tag)
        except LINK_ERRORS as exc:
            logger.info("amqp ack failed: the message will be redelivered", extra={"error": repr(exc)})

    async def _nack(self, channel: Any, tag: int) -> None:
        if not channel.is_open:
            return
        try:
            await channel.basic_client_nack(tag, requeue=True)
        except LINK_ERRORS as exc:
            logger.info("amqp nack failed: the message will be redelivered", extra={"error": repr(exc)})

    async def _confirmed_publish(
        self, link: AmqpLink, exchange: str, routing_key: str, body: bytes, props: Any
    ) -> None:
        channel = await link.channel("publish")
        await bounded(self.clock, channel.publish(body, exchange, routing_key, props), self.publish_timeout, "publish")

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
                await self._confirmed_publish(link, "", queue, body, _to_pamqp(properties))
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
            await self._confirmed_publish(link, "", target, body, _to_pamqp(properties))
            return True
        except LINK_OR_TIMEOUT as exc:
            logger.warning("amqp retry publish failed; requeueing the original instead", extra={"error": repr(exc)})
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
            props = _to_pamqp(copy_properties(properties, dict(headers)))
            await self._confirmed_publish(link, DEAD_LETTER_EXCHANGE, queue, body, props)
            return True
        except LINK_OR_TIMEOUT as exc:
            logger.error("amqp dead-letter publish failed; the message stays on its queue", extra={"error": repr(exc)})
            return False


def create_broker(settings: AmqpSettings, clock: Clock) -> RealAmqpBroker:
    """Default factory used when the Environment has no ``amqp`` broker factory."""
    return RealAmqpBroker(settings, clock)


# ---- helpers ------------------------------------------------------------------------------------------------


def _declarable(exchange: str) -> bool:
    return bool(exchange) and not exchange.startswith("amq.")


def _expiry(ttl: float | None) -> dict[str, Any]:
    return {"x-expires": int(ttl * 1000)} if ttl else {}


def _text(value: Any) -> Any:
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return value
    return value


def _int(value: Any) -> int:
    try:
        return max(0, int(value))
    except (TypeError, ValueError):
        return 0


def _from_aioamqp(props: Any, headers: dict[str, Any]) -> AmqpProperties:
    timestamp = getattr(props, "timestamp", None)
    if isinstance(timestamp, datetime):
        timestamp = int(timestamp.timestamp())
    return AmqpProperties(
        content_type=getattr(props, "content_type", None),
        content_encoding=getattr(props, "content_encoding", None),
        headers=headers,
        delivery_mode=getattr(props, "delivery_mode", None),
        priority=getattr(props, "priority", None),
        correlation_id=getattr(props, "correlation_id", None),
        reply_to=getattr(props, "reply_to", None),
        expiration=getattr(props, "expiration", None),
        message_id=getattr(props, "message_id", None),
        timestamp=timestamp,
        message_type=getattr(props, "message_type", None),
        user_id=getattr(props, "user_id", None),
        app_id=getattr(props, "app_id", None),
    )


def _to_pamqp(properties: AmqpProperties) -> dict[str, Any]:
    """AmqpProperties as keyword arguments for pamqp's ``Basic.Properties`` (unset fields left out)."""
    values: dict[str, Any] = {}
    for name in (
        "content_type",
        "content_encoding",
        "delivery_mode",
        "priority",
        "correlation_id",
        "reply_to",
        "expiration",
        "message_id",
        "message_type",
        "user_id",
        "app_id",
    ):
        value = getattr(properties, name)
        if value is not None:
            values[name] = value
    if properties.headers:
        values["headers"] = dict(properties.headers)
    if properties.timestamp is not None:
        values["timestamp"] = datetime.fromtimestamp(int(properties.timestamp), tz=timezone.utc)
    return values


__all__ = [
    "ATTEMPT_HEADER",
    "RealAmqpBroker",
    "RealAmqpConsumer",
    "RealAmqpDelivery",
    "create_broker",
    "delay_queue_name",
]
