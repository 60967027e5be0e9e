"""The in-memory AMQP broker's routing (topic patterns) and its management-view records (published, dead-lettered,
waiting on the clock)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from tomodachi.messaging.amqp.descriptors import AmqpProperties
from tomodachi.messaging.amqp.naming import decode_routing_key


def topic_matches(pattern: str, routing_key: str) -> bool:
    """AMQP topic matching: words split on ``.``, ``*`` = exactly one word, ``#`` = zero or more words."""
    return _match(tuple(pattern.split(".")), tuple(routing_key.split(".")))


@lru_cache(maxsize=8192)
def _match(pattern: tuple[str, ...], words: tuple[str, ...]) -> bool:
    if not pattern:
        return not words
    head, rest = pattern[0], pattern[1:]
    if head == "#":
        return any(_match(rest, words[i:]) for i in range(len(words) + 1))
    if not words:
        return False
    return (head == "*" or head == words[0]) and _match(rest, words[1:])


@dataclass
class PublishedMessage:
    """One message as it went through ``publish`` (the broker's own log of publishes)."""

    exchange_name: str
    routing_key: str  # as on the wire (encoded, prefixed)
    body: bytes
    properties: AmqpProperties
    timestamp: float
    # the queues it reached (empty = unroutable, dropped as RabbitMQ does): a tuple the broker shares between the
    # records of one route, so a record adds no object of its own for the garbage collector to visit
    queues: tuple[str, ...] = ()

    @property
    def routed_to(self) -> list[str]:
        """Names of the queues it reached; empty = unroutable (dropped, as RabbitMQ does)."""
        return list(self.queues)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    @property
    def decoded_routing_key(self) -> str:
        return decode_routing_key(self.routing_key)

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class DeadLetter:
    """A message moved to a dead-letter queue, with why and from where."""

    queue_name: str  # the queue it failed in
    dead_letter_queue: str | None  # where it went (None: no dead-letter queue was declared — kept here only)
    body: bytes
    routing_key: str
    exchange_name: str
    properties: AmqpProperties
    reason: str
    delivery_count: int

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


@dataclass(frozen=True)
class DelayedRetry:
    """A message waiting on the clock before it is (re)queued: a retry back-off, or injected latency."""

    queue_name: str
    message_id: str
    due: datetime
    kind: str = "retry back-off"
