"""A delivery from the in-memory AMQP broker (:mod:`tomodachi.messaging.amqp.memory`): settling it updates its
queue as RabbitMQ would."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tomodachi.messaging.amqp import naming
from tomodachi.messaging.broker import Delivery

if TYPE_CHECKING:
    from tomodachi.messaging.amqp.memory import MemoryAmqpBroker, _Consumer, _Message, _Queue


class MemoryAmqpDelivery(Delivery):
    """A delivery from the memory broker; settling updates the queue like RabbitMQ would."""

    orphaned = False  # its channel closed under it: the message was requeued, settling does nothing

    def __init__(self, broker: MemoryAmqpBroker, queue: _Queue, consumer: _Consumer, message: _Message) -> None:
        super().__init__(
            body=message.body,
            attributes=message.properties.headers,  # copied: the properties are shared with the broker's records
            receive_count=message.delivery_count,
            redelivered=message.redelivered,
            delivery_id=f"{queue.name}:{next(broker._ids)}",
            metadata={
                "routing_key": naming.decode_routing_key(message.routing_key),
                "exchange_name": message.exchange_name,
                "properties": message.properties,
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
        if self.orphaned:
            return
        message = self._message
        message.redelivered = True
        self._broker.unsettled.discard(self)
        self._broker._release(self._queue, self._consumer, dispatch=False)
        if delay <= 0:
            self._broker._requeue(self._queue.name, message)
        else:
            self._broker._hold(self._queue.name, message, delay, "retry back-off")
        self._broker._dispatch(self._queue)

    async def _dead_letter(self, reason: str) -> None:
        if self.orphaned:
            return
        self._broker.unsettled.discard(self)
        self._broker._release(self._queue, self._consumer, dispatch=False)
        self._broker._dead_letter(self._queue, self._message, reason)
        self._broker._dispatch(self._queue)
