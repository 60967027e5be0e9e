"""A delivery from the in-memory AMQP broker (:mod:`tomodachi.messaging.amqp.memory`): settling it updates its
queue as RabbitMQ would, and a retry copy carries what the real broker's copies carry."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from tomodachi.messaging.amqp import naming
from tomodachi.messaging.amqp.republish import (
    BOOKKEEPING_HEADERS,
    SIGNED_HEADERS,
    retry_copy_properties,
    signed_by_us,
    without_bookkeeping,
)
from tomodachi.messaging.broker import Delivery

if TYPE_CHECKING:
    from tomodachi.messaging.amqp.memory import MemoryAmqpBroker
    from tomodachi.messaging.amqp.memory_queues import _Consumer, _Message, _Queue


class MemoryAmqpDelivery(Delivery):
    """A delivery from the memory broker; settling updates the queue like RabbitMQ would."""

    orphaned = False  # its channel closed under it: the message was requeued, settling does nothing

    def __init__(self, broker: MemoryAmqpBroker, queue: _Queue, consumer: _Consumer, message: _Message) -> None:
        properties = message.properties
        headers = properties.headers
        if (
            headers
            and not headers.keys().isdisjoint(SIGNED_HEADERS)
            and not signed_by_us(headers, broker.signing_key, queue.name, message.body, BOOKKEEPING_HEADERS)
        ):
            # as on the real wire: bookkeeping a publisher wrote (not our retry) never reaches the handler
            headers = without_bookkeeping(headers)
            properties = replace(properties, headers=headers)
        super().__init__(
            body=message.body,
            attributes=headers,  # copied: the properties are shared with the broker's records
            receive_count=message.delivery_count,
            redelivered=message.redelivered,
            delivery_id=f"{queue.name}:{next(broker._ids)}",
            metadata={
                "routing_key": naming.decode_routing_key(message.routing_key),
                "exchange_name": message.exchange_name,
                "properties": properties,
                "queue_name": queue.name,
                "consumer_tag": consumer.tag,
            },
        )
        self._broker = broker
        self._queue = queue
        self._consumer = consumer
        self._message = message

    async def _ack(self) -> None:
        if self.orphaned:
            return
        self._broker.unsettled.discard(self)
        self._broker._release(self._queue, self._consumer)

    async def _retry(self, delay: float) -> None:
        # like the real broker: a signed copy goes to the back of the queue (after a wait in a TTL queue, which
        # RabbitMQ records in x-death when it moves the copy on) and the original is acknowledged
        if self.orphaned:
            return
        broker, queue, message = self._broker, self._queue, self._message
        broker.unsettled.discard(self)
        broker._release(queue, self._consumer, dispatch=False)
        properties = retry_copy_properties(
            message.properties,
            broker.signing_key,
            queue.name,
            self.receive_count,
            message.routing_key,
            message.exchange_name,
            message.body,
        )
        delay_ms = int(round(delay * 1000))
        if delay_ms > 0:
            expired_at = datetime.fromtimestamp(int(broker.clock.time() + delay_ms / 1000), tz=timezone.utc)
            waited_in = naming.delay_queue_name(queue.name, delay_ms)
            properties = replace(properties, headers=expired_in(properties.headers, waited_in, expired_at))
        copy = replace(message, properties=properties, redelivered=False, expires_at=None)  # no expiration
        if delay_ms > 0:
            broker._hold(queue.name, copy, delay_ms / 1000, "retry back-off", head=False)
        elif queue.name in broker.queues:
            broker._enqueue(queue.name, copy)
        broker._dispatch(queue)
        broker._changed()

    async def _dead_letter(self, reason: str) -> None:
        if self.orphaned:
            return
        self._broker.unsettled.discard(self)
        self._broker._release(self._queue, self._consumer, dispatch=False)
        self._broker._dead_letter(self._queue, self._message, reason)
        self._broker._dispatch(self._queue)


def expired_in(headers: Mapping[str, Any], queue: str, when: datetime) -> dict[str, Any]:
    """``headers`` after RabbitMQ dead-letters the message from ``queue`` (through the default exchange) because
    its time there ran out: one ``x-death`` entry per queue and reason, counted, most recent first; the first
    death's queue, reason and exchange kept in ``x-first-death-*``."""
    deaths: list[dict[str, Any]] = [dict(death) for death in headers.get("x-death") or () if isinstance(death, dict)]
    for at, death in enumerate(deaths):
        if death.get("queue") == queue and death.get("reason") == "expired":
            deaths.pop(at)
            death["count"] = int(death.get("count", 0)) + 1
            break
    else:
        death = {"count": 1, "reason": "expired", "queue": queue, "time": when, "exchange": "", "routing-keys": [queue]}
    updated = {**headers, "x-death": [death, *deaths]}
    updated.setdefault("x-first-death-exchange", "")
    updated.setdefault("x-first-death-queue", queue)
    updated.setdefault("x-first-death-reason", "expired")
    return updated
