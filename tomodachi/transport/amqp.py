"""Compat import path ``tomodachi.transport.amqp``: the AMQP decorator, publish function and exceptions."""

from __future__ import annotations

from tomodachi.messaging.amqp.api import amqp, amqp_publish
from tomodachi.messaging.amqp.exceptions import (
    AmqpChannelClosed,
    AmqpConnectionException,
    AmqpException,
    AmqpExclusiveQueueLockedException,
    AmqpInternalServiceError,
    AmqpInternalServiceErrorException,
    AmqpInternalServiceException,
    AmqpTooManyConsumersException,
)
from tomodachi.messaging.amqp.naming import decode_routing_key, encode_routing_key
from tomodachi.transport.upstream_classes import AmqpTransport

__all__ = [
    "AmqpTransport",
    "AmqpChannelClosed",
    "AmqpConnectionException",
    "AmqpException",
    "AmqpExclusiveQueueLockedException",
    "AmqpInternalServiceError",
    "AmqpInternalServiceErrorException",
    "AmqpInternalServiceException",
    "AmqpTooManyConsumersException",
    "amqp",
    "amqp_publish",
    "decode_routing_key",
    "encode_routing_key",
]
