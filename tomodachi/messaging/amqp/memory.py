"""A faithful in-memory AMQP broker: topic/direct/fanout exchanges, FIFO queues, competing and fan-out
consumers, prefetch, requeue with the redelivered flag, a dead-letter exchange, and a management view of its
state. The test-facing API over it is :class:`tomodachi.testing.fakes.amqp.InMemoryAmqp`."""

from __future__ import annotations

import asyncio
import itertools
import os
from collections import deque
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

from tomodachi.logging import framework_logger
from tomodachi.messaging.amqp import naming
from tomodachi.messaging.amqp.descriptors import AmqpPublication, AmqpSubscription
from tomodachi.messaging.amqp.exceptions import AmqpChannelClosed, AmqpTooManyConsumersException
from tomodachi.messaging.amqp.memory_delivery import MemoryAmqpDelivery as MemoryAmqpDelivery  # part of this API
from tomodachi.messaging.amqp.memory_queues import _Channel, _Consumer, _Exchange, _expiry, _Message, _Queue
from tomodachi.messaging.amqp.memory_records import DeadLetter, DelayedRetry, PublishedMessage, topic_matches
from tomodachi.messaging.amqp.republish import without_bookkeeping
from tomodachi.messaging.broker import DeliveryCallback, trim_history
from tomodachi.messaging.faults import FaultTable
from tomodachi.runtime.clock import Clock, RealClock

logger = framework_logger("tomodachi.amqp")

PREDECLARED_EXCHANGES = {
    "": "direct",
    "amq.topic": "topic",
    "amq.direct": "direct",
    "amq.fanout": "fanout",
    "amq.headers": "headers",
    "amq.match": "headers",
}


class MemoryAmqpBroker:
    """In-memory RabbitMQ stand-in with the same Broker interface as the real one.

    Management view (what ``rabbitmqctl`` would show): ``published``, ``dead_letters``, ``queue_depth(name)``,
    ``consumer_count(name)``, ``queue_names()``, ``messages_in(name)``, ``bindings()``, ``unsettled``,
    ``delayed``. ``inject_publish_fault(exc)`` makes the next publish raise ``exc``.
    """

    def __init__(
        self, clock: Clock | None = None, *, prefetch_count: int | None = None, history: int | None = None
    ) -> None:
        """``history``: how many publishes and dead letters the management view keeps (``None``: all)."""
        self.clock: Clock = clock or RealClock()
        self.history = history
        self.default_prefetch = prefetch_count
        self.exchanges: dict[str, _Exchange] = {n: _Exchange(n, t) for n, t in PREDECLARED_EXCHANGES.items()}
        self.queues: dict[str, _Queue] = {}
        self.published: list[PublishedMessage] = []
        self.dead_letters: list[DeadLetter] = []
        self._ids = itertools.count(1)
        # signs the bookkeeping headers of retry copies, as the real broker's key does (see republish.py)
        self.signing_key = os.urandom(32)
        self._publish_faults: deque[BaseException] = deque()
        self.delayed: dict[int, DelayedRetry] = {}
        self.unsettled: set[MemoryAmqpDelivery] = set()
        self.orphans: list[MemoryAmqpDelivery] = []  # deliveries whose channel was closed under their handler
        self.faults = FaultTable()
        self._shuffling: set[str] = set()  # queues being dispatched in shuffled order right now
        self._shuffle_due: set[str] = set()  # queues with a shuffled dispatch scheduled
        self._event = asyncio.Event()
        self.closed = False
        # (exchange, routing key) → the queues a publish reaches; forgotten whenever exchanges, queues or bindings change
        self._routes: dict[tuple[str, str], tuple[str, ...]] = {}
        self._channels: dict[str, _Channel] = {}  # the channel each service consumes on, by its name

    # ---- Broker interface -------------------------------------------------------------------------------

    async def declare(self, subscription: AmqpSubscription) -> None:
        self.declare_exchange(subscription.exchange_name or "amq.topic", subscription.exchange_type)
        queue = self.declare_queue(
            subscription.queue_name,
            arguments=naming.expiry_arguments(subscription.queue_ttl),
            competing=subscription.competing,
        )
        if not subscription.competing and queue.consumers:
            raise AmqpTooManyConsumersException(f"Max consumers for queue {queue.name!r} has been reached")
        self.bind(subscription.queue_name, subscription.exchange_name or "amq.topic", subscription.binding_key)
        if subscription.dead_letter_queue:
            self.declare_exchange(naming.DEAD_LETTER_EXCHANGE, "direct")
            self.declare_queue(
                subscription.dead_letter_queue, arguments=naming.expiry_arguments(subscription.dead_letter_queue_ttl)
            )
            self.bind(subscription.dead_letter_queue, naming.DEAD_LETTER_EXCHANGE, subscription.queue_name)
            queue.dead_letter_queue = subscription.dead_letter_queue

    async def consume(self, subscription: AmqpSubscription, on_delivery: DeliveryCallback) -> _Consumer:
        queue = self._queue(subscription.queue_name)
        if not subscription.competing and queue.consumers:
            raise AmqpTooManyConsumersException(f"Max consumers for queue {queue.name!r} has been reached")
        prefetch = self.default_prefetch or subscription.prefetch_count
        channel = None
        if subscription.channel:
            channel = self._channels.get(subscription.channel)
            if channel is None or not channel.consumers:  # a channel opened anew takes the qos given now
                channel = self._channels[subscription.channel] = _Channel(subscription.global_prefetch_count)
        consumer = _Consumer(self, queue, on_delivery, prefetch, channel)
        if channel is not None:
            channel.consumers.append(consumer)
        queue.consumers.append(consumer)
        queue.unused_since = None
        self._dispatch(queue)
        return consumer

    async def publish(self, publication: AmqpPublication) -> str | None:
        return self.publish_now(publication)

    def publish_now(self, publication: AmqpPublication) -> str | None:
        """:meth:`publish` without a coroutine: nothing here waits (the test fake publishes through this)."""
        if self._publish_faults:
            raise self._publish_faults.popleft()
        if self.closed:
            raise AmqpChannelClosed("broker is closed", code=504)
        if self.faults.outage:
            raise AmqpChannelClosed("broker unreachable (injected outage)", code=504)
        exchange = self.exchanges.get(publication.exchange_name)
        if exchange is None:
            if not naming.declarable(publication.exchange_name):
                raise AmqpChannelClosed(f"no exchange {publication.exchange_name!r} (NOT_FOUND)", code=404)
            self.declare_exchange(publication.exchange_name)  # as a real publish does: a topic exchange
            exchange = self.exchanges[publication.exchange_name]
        properties = publication.properties
        delivered = properties
        if properties.headers:  # what the wire carries of them, as the consumer decodes it (or a TypeError)
            from tomodachi.messaging.amqp.wire import delivered_headers

            delivered = replace(properties, headers=delivered_headers(properties.headers))
        expires_at = _expiry(properties.expiration, self.clock.time()) if properties.expiration else None
        routing_key = publication.routing_key
        key = (exchange.name, routing_key)
        routed = self._routes.get(key)
        if routed is None:
            routed = self._routes[key] = tuple(self._route(exchange, routing_key))
        body = publication.body
        self.published.append(
            PublishedMessage(publication.exchange_name, routing_key, body, properties, self.clock.time(), routed)
        )
        if self.history is not None:
            trim_history(self.published, self.history)
        for queue_name in routed:
            message = _Message(body, publication.exchange_name, routing_key, delivered, expires_at=expires_at)
            self._enqueue(queue_name, message)
        self._event.set()
        return properties.message_id

    async def close(self) -> None:
        self.closed = True
        for queue in self.queues.values():
            for consumer in list(queue.consumers):
                await consumer.cancel()

    def acquire(self) -> None:
        """Counts nothing (nor does :meth:`release`): the in-memory broker stays open for whoever owns it."""

    async def release(self) -> None: ...

    # ---- AMQP-level operations (also usable by tests) ----------------------------------------------------

    def declare_exchange(self, name: str, type: str = "topic") -> None:
        existing = self.exchanges.get(name)
        if existing is None:
            if name.startswith("amq."):
                raise AmqpChannelClosed(f"exchange name {name!r} uses the reserved 'amq.' prefix", code=403)
            self.exchanges[name] = _Exchange(name, type)
            self._routes.clear()
        elif existing.type != type:
            raise AmqpChannelClosed(
                f"exchange {name!r} exists with type {existing.type!r}, not {type!r} (PRECONDITION_FAILED)", code=406
            )

    def declare_queue(self, name: str, *, arguments: Mapping[str, Any] | None = None, competing: bool = True) -> _Queue:
        queue = self.queues.get(name)
        now = self.clock.time()
        if queue is not None and queue.expired(now):
            self._delete_queue(queue)
            queue = None
        if queue is None:
            queue = self.queues[name] = _Queue(name, dict(arguments or {}), competing=competing)
            self._routes.clear()
        if not queue.consumers:
            queue.unused_since = now  # declaring it again is a use: its x-expires starts over
        return queue

    def _delete_queue(self, queue: _Queue) -> None:
        """Delete a queue that expired (unused for longer than its ``x-expires``), with its messages."""
        del self.queues[queue.name]
        for exchange in self.exchanges.values():
            exchange.bindings = [binding for binding in exchange.bindings if binding[1] != queue.name]
        self._routes.clear()
        if queue.messages:
            logger.warning("queue expired with messages (x-expires)", queue=queue.name, messages=len(queue.messages))
        self._changed()

    def bind(self, queue_name: str, exchange_name: str, binding_key: str) -> None:
        self._queue(queue_name)
        exchange = self.exchanges.get(exchange_name)
        if exchange is None:
            raise AmqpChannelClosed(f"no exchange {exchange_name!r} (NOT_FOUND)", code=404)
        if (binding_key, queue_name) not in exchange.bindings:
            exchange.bindings.append((binding_key, queue_name))
            self._routes.clear()

    # ---- management view and fault injection -----------------------------------------------------------

    def inject_publish_fault(self, exc: BaseException) -> None:
        """The next publish raises ``exc`` instead of publishing (one fault per call, used in order)."""
        self._publish_faults.append(exc)

    def queue_names(self) -> list[str]:
        return list(self.queues)

    def queue_depth(self, name: str) -> int:
        """Ready (not yet delivered) messages in a queue."""
        return len(self._queue(name).messages)

    def unacked_count(self, name: str | None = None) -> int:
        queues = [self._queue(name)] if name else list(self.queues.values())
        return sum(q.unacked for q in queues)

    def consumer_count(self, name: str) -> int:
        return len(self._queue(name).consumers)

    def messages_in(self, name: str) -> list[bytes]:
        """Bodies of the ready messages of a queue, in order (e.g. a dead-letter queue)."""
        return [m.body for m in self._queue(name).messages]

    def bindings(self, exchange_name: str = "amq.topic") -> list[tuple[str, str]]:
        return list(self.exchanges[exchange_name].bindings)

    @property
    def delayed_count(self) -> int:
        """Messages waiting on the clock for a retry back-off to end."""
        return len(self.delayed)

    def changed(self) -> asyncio.Event:
        """Set on every state change (publish, delivery, settle, requeue); clear it before waiting on it."""
        return self._event

    def is_idle(self) -> bool:
        """No deliverable message is waiting and no delivery is unsettled (delayed retries don't count)."""
        return all(not (q.messages and q.consumers) and q.unacked == 0 for q in self.queues.values())

    # ---- internals --------------------------------------------------------------------------------------

    def _changed(self) -> None:
        self._event.set()

    def _queue(self, name: str) -> _Queue:
        queue = self.queues.get(name)
        if queue is None:
            raise AmqpChannelClosed(f"no queue {name!r} (NOT_FOUND)", code=404)
        return queue

    def _route(self, exchange: _Exchange, routing_key: str) -> list[str]:
        if exchange.name == "":
            return [routing_key] if routing_key in self.queues else []
        matched: list[str] = []
        for binding_key, queue_name in exchange.bindings:
            if exchange.type == "fanout":
                hit = True
            elif exchange.type == "topic":
                hit = topic_matches(binding_key, routing_key)
            elif exchange.type == "headers":
                hit = True  # a binding without arguments asks for no header: every message matches
            else:
                hit = binding_key == routing_key
            if hit and queue_name not in matched and queue_name in self.queues:
                matched.append(queue_name)
        return matched

    def _enqueue(self, queue_name: str, message: _Message) -> None:
        queue = self.queues[queue_name]
        if queue.unused_since is not None and queue.expired(self.clock.time()):
            self._delete_queue(queue)  # RabbitMQ deleted it meanwhile: nothing routes there any more
            return
        faults = self.faults.of(queue_name)
        if faults is None:
            queue.messages.append(message)
            self._dispatch(queue)
            return
        messages = [message, *(replace(message) for _ in range(faults.take_copies() - 1))]
        latency = faults.take_latency()
        if latency > 0:
            for held in messages:
                self._hold(queue_name, held, latency, "latency", head=False)
            return
        queue.messages.extend(messages)
        self._dispatch(queue)

    def _hold(self, queue_name: str, message: _Message, delay: float, kind: str, *, head: bool = True) -> None:
        """Queue ``message`` after ``delay`` seconds of the clock (at the head, as a requeue, unless ``head``)."""
        token = next(self._ids)
        due = datetime.fromtimestamp(self.clock.time() + delay, tz=timezone.utc)
        self.delayed[token] = DelayedRetry(queue_name, message.properties.message_id or "", due, kind)
        self.clock.call_later(delay, self._requeue_later, token, queue_name, message, head)

    def close_channel_under(self, queue_name: str) -> int:
        """The channel of the deliveries being handled on ``queue_name`` closes: their messages are requeued
        with the redelivered flag (the handlers run on; their settling does nothing). Returns how many."""
        queue = self._queue(queue_name)
        return self.close_channel_of([d for d in self.unsettled if d._queue is queue])

    def close_channel_of(self, deliveries: list[MemoryAmqpDelivery], *, consumers_gone: bool = False) -> int:
        """The channel of ``deliveries`` closes: their messages are requeued with the redelivered flag; settling
        them later does nothing. With ``consumers_gone`` (their process died) their consumers stop receiving
        first. Returns how many were still unsettled."""
        cut = [d for d in deliveries if d in self.unsettled]
        if consumers_gone:
            for consumer in {id(d._consumer): d._consumer for d in cut}.values():
                consumer.drop()
        for delivery in cut:
            queue = delivery._queue
            delivery.orphaned = True
            self.unsettled.discard(delivery)
            self.orphans.append(delivery)
            delivery._message.redelivered = True
            self._release(queue, delivery._consumer, dispatch=False)
            queue.messages.appendleft(delivery._message)
        for queue in {id(d._queue): d._queue for d in cut}.values():
            self._dispatch(queue)
        return len(cut)

    def resume(self) -> None:
        """After an outage: deliver what waited."""
        for queue in list(self.queues.values()):
            self._dispatch(queue)
        self._changed()

    def _requeue(self, queue_name: str, message: _Message) -> None:
        queue = self.queues.get(queue_name)
        if queue is None:  # deleted meanwhile: RabbitMQ would drop it too
            return
        queue.messages.appendleft(message)  # RabbitMQ requeues near the head, ahead of newer messages
        self._dispatch(queue)
        self._changed()

    def _requeue_later(self, token: int, queue_name: str, message: _Message, head: bool = True) -> None:
        self.delayed.pop(token, None)
        if head:
            self._requeue(queue_name, message)
        elif queue_name in self.queues:
            self.queues[queue_name].messages.append(message)
            self._dispatch(self.queues[queue_name])
            self._changed()

    def _release(self, queue: _Queue, consumer: _Consumer, *, dispatch: bool = True) -> None:
        queue.unacked -= 1
        consumer.in_flight -= 1
        channel = consumer.channel
        if channel is not None:
            channel.in_flight -= 1
            if channel.in_flight == channel.limit - 1:  # the channel had no room: its other queues may go on
                for other in {id(c.queue): c.queue for c in channel.consumers if c.queue is not queue}.values():
                    self._dispatch(other)
        if dispatch:
            self._dispatch(queue)
        self._event.set()

    def _dead_letter(self, queue: _Queue, message: _Message, reason: str) -> None:
        headers = naming.dead_letter_headers(
            without_bookkeeping(message.properties.headers),
            reason=reason,
            queue=queue.name,
            exchange=message.exchange_name,
            routing_key=message.routing_key,
            delivery_count=message.delivery_count,
        )
        self.dead_letters.append(
            DeadLetter(
                queue_name=queue.name,
                dead_letter_queue=queue.dead_letter_queue,
                body=message.body,
                routing_key=naming.decode_routing_key(message.routing_key),
                exchange_name=message.exchange_name,
                properties=message.properties,
                reason=reason,
                delivery_count=message.delivery_count,
            )
        )
        trim_history(self.dead_letters, self.history)
        if queue.dead_letter_queue and queue.dead_letter_queue in self.queues:
            dead = _Message(
                message.body, naming.DEAD_LETTER_EXCHANGE, queue.name, replace(message.properties, headers=headers)
            )
            self._enqueue(queue.dead_letter_queue, dead)
        else:
            logger.warning("message dead-lettered without a dead-letter queue", queue=queue.name)
        self._changed()

    def _dispatch(self, queue: _Queue) -> None:
        if self.faults.outage:
            return
        faults = self.faults.of(queue.name)
        if faults is not None and faults.shuffle is not None and queue.name not in self._shuffling:
            # gather what arrives in this turn of the event loop, then hand it out in a seeded order
            if queue.messages and queue.name not in self._shuffle_due:
                self._shuffle_due.add(queue.name)
                asyncio.get_running_loop().call_soon(self._dispatch_shuffled, queue)
            return
        messages, consumers = queue.messages, queue.consumers
        while messages:
            if len(consumers) == 1:  # the usual case, asked on every enqueue and ack: no round-robin to keep
                consumer = consumers[0]
                if not consumer.has_room():
                    return
            else:
                found = self._next_consumer(queue)
                if found is None:
                    return
                consumer = found
            message = messages.popleft()
            if message.expires_at is not None and self.clock.time() >= message.expires_at:
                logger.debug("message expired on the queue (its expiration ran out)", queue=queue.name)
                continue  # RabbitMQ drops it when it reaches the head of the queue
            message.delivery_count += 1
            queue.unacked += 1
            consumer.in_flight += 1
            if consumer.channel is not None:
                consumer.channel.in_flight += 1
            delivery = MemoryAmqpDelivery(self, queue, consumer, message)
            if faults is not None:
                delivery.injected_fault = faults.take_failure()
            self.unsettled.add(delivery)
            try:
                consumer.callback(delivery)
            except Exception:
                logger.exception("delivery callback failed; message requeued", queue=queue.name)
                self.unsettled.discard(delivery)
                queue.unacked -= 1
                consumer.in_flight -= 1
                if consumer.channel is not None:
                    consumer.channel.in_flight -= 1
                message.redelivered = True
                messages.appendleft(message)
                return
        self._event.set()

    def _dispatch_shuffled(self, queue: _Queue) -> None:
        self._shuffle_due.discard(queue.name)
        faults = self.faults.of(queue.name)
        if faults is not None and faults.shuffle is not None:
            ready = list(queue.messages)
            faults.shuffle.shuffle(ready)
            queue.messages = deque(ready)
        self._shuffling.add(queue.name)
        try:
            self._dispatch(queue)
        finally:
            self._shuffling.discard(queue.name)
        self._changed()

    def _next_consumer(self, queue: _Queue) -> _Consumer | None:
        # round-robin over consumers with spare prefetch, like RabbitMQ with basic.qos
        count = len(queue.consumers)
        for offset in range(count):
            index = (queue.next_consumer + offset) % count
            consumer = queue.consumers[index]
            if consumer.has_room():
                queue.next_consumer = (index + 1) % count
                return consumer
        return None
