"""The in-memory RabbitMQ's state (:mod:`tomodachi.messaging.amqp.memory`): messages, exchanges, queues, their
consumers and the channels those consume on."""

from __future__ import annotations

import sys
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tomodachi.messaging.amqp.descriptors import AmqpProperties
from tomodachi.messaging.amqp.exceptions import AmqpChannelClosed
from tomodachi.messaging.broker import DeliveryCallback

if TYPE_CHECKING:
    from tomodachi.messaging.amqp.memory import MemoryAmqpBroker

UNLIMITED = sys.maxsize  # a prefetch count of 0: RabbitMQ sets no limit


@dataclass(slots=True)
class _Message:
    body: bytes
    exchange_name: str
    routing_key: str
    properties: AmqpProperties
    redelivered: bool = False
    delivery_count: int = 0
    expires_at: float | None = None  # clock time its ``expiration`` (per-message TTL) runs out on the queue


@dataclass
class _Exchange:
    name: str
    type: str
    bindings: list[tuple[str, str]] = field(default_factory=list)  # (binding key, queue name)


class _Channel:
    """The channel one service consumes on: its ``global_prefetch_count`` limits the unacknowledged messages of
    all its consumers together (``basic.qos`` with ``global=True``)."""

    __slots__ = ("limit", "in_flight", "consumers")

    def __init__(self, limit: int) -> None:
        self.limit = limit or UNLIMITED
        self.in_flight = 0
        self.consumers: list[_Consumer] = []


class _Consumer:
    def __init__(
        self,
        broker: MemoryAmqpBroker,
        queue: _Queue,
        callback: DeliveryCallback,
        prefetch: int,
        channel: _Channel | None = None,
    ) -> None:
        self.broker = broker
        self.queue = queue
        self.callback = callback
        self.prefetch = prefetch or UNLIMITED
        self.channel = channel
        self.in_flight = 0
        self.active = True
        self.tag = f"ctag-{next(broker._ids)}"

    def has_room(self) -> bool:
        channel = self.channel
        return self.active and self.in_flight < self.prefetch and (channel is None or channel.in_flight < channel.limit)

    async def cancel(self) -> None:
        self.drop()

    def drop(self) -> None:
        """Stop consuming (cancelled, or its process died): its queue may go unused from now on."""
        if self.active:
            self.active = False
            if self in self.queue.consumers:
                self.queue.consumers.remove(self)
            if self.channel is not None and self in self.channel.consumers:
                self.channel.consumers.remove(self)
            if not self.queue.consumers:
                self.queue.unused_since = self.broker.clock.time()
            self.broker._changed()


@dataclass
class _Queue:
    name: str
    arguments: Mapping[str, Any]
    competing: bool = True
    messages: deque[_Message] = field(default_factory=deque)
    consumers: list[_Consumer] = field(default_factory=list)
    unacked: int = 0
    next_consumer: int = 0
    dead_letter_queue: str | None = None
    unused_since: float | None = None  # clock time since when it has had no consumer (``None``: it has one)

    def expired(self, now: float) -> bool:
        """Whether RabbitMQ would have deleted it by ``now``: unused for longer than its ``x-expires``."""
        expires = self.arguments.get("x-expires")
        since = self.unused_since
        if not expires or since is None or self.unacked:
            return False
        return now >= since + int(expires) / 1000


def _expiry(expiration: str, now: float) -> float:
    """When a message published at ``now`` with ``expiration`` (milliseconds, as text) expires on a queue."""
    try:
        milliseconds = int(expiration)
    except ValueError:
        milliseconds = -1
    if milliseconds < 0:
        raise AmqpChannelClosed(f"PRECONDITION_FAILED - invalid expiration {expiration!r}", code=406)
    return now + milliseconds / 1000
