"""What an AMQP subscription and an AMQP publish ask of a broker (transport-specific descriptors)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from tomodachi.messaging.broker import Broker

_NO_HEADERS: Mapping[str, Any] = MappingProxyType({})  # "not given": each instance then gets a fresh dict
_set_attribute = object.__setattr__


@dataclass(frozen=True, init=False)
class AmqpProperties:
    """Basic properties of a message; attribute names match aioamqp's ``Properties``.

    A frozen dataclass (``dataclasses.replace`` copies one for our retry copies) with its own ``__init__``: one is
    made per publish. It sets the fields one at a time (the generated one does too, slower): the values then live
    in the instance itself, with no dict object of their own — a test's broker keeps every message's properties,
    and each object kept is one more for every run of the cyclic garbage collector to visit."""

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

    def __init__(
        self,
        content_type: str | None = None,
        content_encoding: str | None = None,
        headers: Mapping[str, Any] = _NO_HEADERS,
        delivery_mode: int | None = None,
        priority: int | None = None,
        correlation_id: str | None = None,
        reply_to: str | None = None,
        expiration: str | None = None,
        message_id: str | None = None,
        timestamp: int | None = None,
        message_type: str | None = None,
        user_id: str | None = None,
        app_id: str | None = None,
    ) -> None:
        # in the fields' order (vars() lists them so); frozen: the dataclass's __setattr__ refuses
        _set_attribute(self, "content_type", content_type)
        _set_attribute(self, "content_encoding", content_encoding)
        _set_attribute(self, "headers", {} if headers is _NO_HEADERS else headers)
        _set_attribute(self, "delivery_mode", delivery_mode)
        _set_attribute(self, "priority", priority)
        _set_attribute(self, "correlation_id", correlation_id)
        _set_attribute(self, "reply_to", reply_to)
        _set_attribute(self, "expiration", expiration)
        _set_attribute(self, "message_id", message_id)
        _set_attribute(self, "timestamp", timestamp)
        _set_attribute(self, "message_type", message_type)
        _set_attribute(self, "user_id", user_id)
        _set_attribute(self, "app_id", app_id)


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
    # the consuming service's channel (its name) and that channel's qos over all its consumers (0: no limit);
    # the in-memory broker keeps the limit per channel, the real one sets it on its own consume channel
    channel: str = ""
    global_prefetch_count: int = 0


@dataclass(frozen=True, init=False)
class AmqpPublication:
    """One message to publish. Its own ``__init__``, as :class:`AmqpProperties` has: one is made per publish."""

    exchange_name: str
    routing_key: str  # encoded and prefixed, as published on the wire
    body: bytes
    properties: AmqpProperties = field(default_factory=AmqpProperties)

    def __init__(
        self, exchange_name: str, routing_key: str, body: bytes, properties: AmqpProperties | None = None
    ) -> None:
        _set_attribute(
            self,
            "__dict__",
            {
                "exchange_name": exchange_name,
                "routing_key": routing_key,
                "body": body,
                "properties": AmqpProperties() if properties is None else properties,
            },
        )


# what every AMQP broker is (the in-memory one, the one over RabbitMQ): declare answers nothing
AmqpBrokerProtocol = Broker[AmqpSubscription, AmqpPublication, None]
