"""A message received from RabbitMQ as a :class:`~tomodachi.messaging.broker.Delivery`: attempt counting from our
signed bookkeeping headers, and settling by ack, retry copy or dead-letter copy."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from tomodachi.messaging.amqp.descriptors import AmqpProperties
from tomodachi.messaging.amqp.naming import dead_letter_headers, decode_routing_key
from tomodachi.messaging.amqp.republish import (
    ATTEMPT_HEADER,
    BOOKKEEPING_HEADERS,
    EXCHANGE_HEADER,
    ROUTING_KEY_HEADER,
    SIGNED_HEADERS,
    retry_copy_properties,
    signed_by_us,
    without_bookkeeping,
)
from tomodachi.messaging.amqp.wire import header_text
from tomodachi.messaging.broker import Delivery

if TYPE_CHECKING:
    from aioamqp.envelope import Envelope
    from aioamqp.properties import Properties

    from tomodachi.messaging.amqp.connection import AmqpChannel
    from tomodachi.messaging.amqp.real import RealAmqpBroker, RealAmqpConsumer

DEAD_LETTER_FAILURE_BACKOFF = 5.0


class RealAmqpDelivery(Delivery):
    """A message from RabbitMQ. Settling on a channel that died since is a no-op: RabbitMQ redelivers it."""

    def __init__(
        self,
        broker: RealAmqpBroker,
        consumer: RealAmqpConsumer,
        channel: AmqpChannel,
        body: bytes,
        envelope: Envelope,
        props: Properties,
    ) -> None:
        raw_headers = props.headers
        headers = {str(k): header_text(v) for k, v in raw_headers.items()} if raw_headers else {}
        queue = consumer.subscription.queue_name
        previous = 0
        if headers:
            if not headers.keys().isdisjoint(SIGNED_HEADERS) and not signed_by_us(
                headers, broker.signing_key, queue, body, BOOKKEEPING_HEADERS
            ):
                # written by a publisher, not by our retry: a forged attempt count, routing key or exchange is ignored
                headers = without_bookkeeping(headers)
            previous = _int(headers.get(ATTEMPT_HEADER))
        redelivered = bool(envelope.is_redeliver)
        # classic queues do not count deliveries: the header carries receives of earlier copies, and a
        # redelivery (connection lost before the settle) counts as one more
        receive_count = previous + 1 + (1 if redelivered else 0)
        # nothing is hashed unless a republish has failed
        receive_count += broker.failed_republishes.count(queue, props.message_id, body)
        wire_key = str((headers.get(ROUTING_KEY_HEADER) if headers else None) or envelope.routing_key)
        exchange = str(
            (headers.get(EXCHANGE_HEADER, envelope.exchange_name) if headers else envelope.exchange_name) or ""
        )
        properties = _from_aioamqp(props, headers)
        tag = envelope.delivery_tag
        super().__init__(
            body=body,
            attributes=headers,
            receive_count=receive_count,
            redelivered=redelivered,
            delivery_id=f"{queue}:{tag}",
            metadata={
                "routing_key": decode_routing_key(wire_key),
                "exchange_name": exchange,
                "properties": properties,
                "queue_name": queue,
                "consumer_tag": envelope.consumer_tag,
                "delivery_tag": tag,
            },
        )
        self._broker = broker
        self._subscription = consumer.subscription
        self._channel = channel
        self._tag = tag
        self._wire_key = wire_key
        self._exchange = exchange
        self._properties = properties

    async def _ack(self) -> None:
        self._broker.ack(self._channel, self._tag)

    async def _retry(self, delay: float) -> None:
        copy = retry_copy_properties(
            self._properties,
            self._broker.signing_key,
            self._subscription.queue_name,
            self.receive_count,
            self._wire_key,
            self._exchange,
            self.body_bytes,
        )
        if not self._channel.is_open:
            return  # the original comes back by itself
        if await self._broker._requeue_copy(self._subscription, self.body_bytes, copy, delay):
            self._broker.failed_republishes.forget(
                self._subscription.queue_name, self._properties.message_id, self.body_bytes
            )
            self._broker.ack(self._channel, self._tag)
        else:
            # the attempt counts all the same
            self._broker.failed_republishes.add(
                self._subscription.queue_name, self._properties.message_id, self.body_bytes
            )
            self._broker.nack(self._channel, self._tag)

    async def _dead_letter(self, reason: str) -> None:
        headers = dead_letter_headers(
            without_bookkeeping(self._properties.headers),
            reason=reason,
            queue=self._subscription.queue_name,
            exchange=self._exchange,
            routing_key=self._wire_key,
            delivery_count=self.receive_count,
        )
        if not self._channel.is_open:
            return
        if await self._broker._publish_dead_letter(self._subscription, self.body_bytes, headers, self._properties):
            self._broker.failed_republishes.forget(
                self._subscription.queue_name, self._properties.message_id, self.body_bytes
            )
            self._broker.ack(self._channel, self._tag)
        else:
            # keep it: back on the queue after a pause (never a hot loop, never lost)
            self._broker.clock.call_later(DEAD_LETTER_FAILURE_BACKOFF, self._broker.nack, self._channel, self._tag)

    @property
    def body_bytes(self) -> bytes:
        return self.body if isinstance(self.body, bytes) else self.body.encode("utf-8")


def _int(value: Any) -> int:
    if value is None:
        return 0
    try:
        return max(0, int(value))
    except (TypeError, ValueError):
        return 0


def _from_aioamqp(props: Properties, headers: dict[str, Any]) -> AmqpProperties:
    timestamp = props.timestamp
    if isinstance(timestamp, datetime):
        timestamp = int(timestamp.timestamp())
    return AmqpProperties(
        content_type=props.content_type,
        content_encoding=props.content_encoding,
        headers=headers,
        delivery_mode=props.delivery_mode,
        priority=props.priority,
        correlation_id=props.correlation_id,
        reply_to=props.reply_to,
        expiration=props.expiration,
        message_id=props.message_id,
        timestamp=timestamp,
        message_type=props.message_type,
        user_id=props.user_id,
        app_id=props.app_id,
    )


__all__ = ["ATTEMPT_HEADER", "RealAmqpDelivery", "SIGNED_HEADERS"]
