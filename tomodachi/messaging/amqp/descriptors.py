"""What an AMQP subscription and an AMQP publish ask of a broker (transport-specific descriptors)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tomodachi.messaging.broker import Broker


@dataclass(frozen=True)
class AmqpProperties:
    """Basic properties of a message; attribute names match aioamqp's ``Properties``."""

    content_type: str | None = None
    content_encoding: str | None = None
    headers: Mapping[str, Any] = field(default_factory=dict)
    delivery_mode: int | None = None
    priority: int | None = None
    correlation_id: str | None = None
    reply_to: str | None = None
    expiration: str | None = None
    message_id: str | None = None
    timestamp: int | None = None
    message_type: str | None = None
    user_id: str | None = None
    app_id: str | None = None


@dataclass(frozen=True)
class AmqpSubscription:
    """Declare ``exchange_name`` (topic), ``queue_name`` bound with ``binding_key``, and the dead-letter queue."""

    exchange_name: str
    binding_key: str  # encoded and prefixed, as bound on the wire
    queue_name: str
    competing: bool
    queue_ttl: float | None = 86400  # seconds → x-expires; None / 0 = no expiry
    prefetch_count: int = 100
    dead_letter_queue: str | None = None
    # seconds → the dead-letter queue's x-expires: a per-instance queue's .dlq goes with it; None = kept forever
    dead_letter_queue_ttl: float | None = None
    exchange_type: str = "topic"


@dataclass(frozen=True)
class AmqpPublication:
    exchange_name: str
    routing_key: str  # encoded and prefixed, as published on the wire
    body: bytes
    properties: AmqpProperties = field(default_factory=AmqpProperties)


# what every AMQP broker is (the in-memory one, the one over RabbitMQ): declare answers nothing
AmqpBrokerProtocol = Broker[AmqpSubscription, AmqpPublication, None]
