"""What our retry and dead-letter copies of a delivery carry, and how failed republishes still count as attempts."""

from __future__ import annotations

import hashlib
import hmac
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from tomodachi.messaging.amqp.descriptors import AmqpProperties

ORIGINAL_USER_ID_HEADER = "x-tomodachi-original-user-id"
SIGNATURE_HEADER = "x-tomodachi-signature"
# bookkeeping headers on retry copies: receives so far, and where the message was first published
ATTEMPT_HEADER = "x-tomodachi-attempt"
ROUTING_KEY_HEADER = "x-tomodachi-routing-key"
EXCHANGE_HEADER = "x-tomodachi-exchange"
BOOKKEEPING_HEADERS = (ATTEMPT_HEADER, ROUTING_KEY_HEADER, EXCHANGE_HEADER)
SIGNED_HEADERS = (*BOOKKEEPING_HEADERS, SIGNATURE_HEADER)


def copy_properties(properties: AmqpProperties, headers: dict[str, Any]) -> AmqpProperties:
    """The properties of a copy we publish: ``headers`` instead of the original's, no per-message TTL, and no
    ``user_id`` — RabbitMQ refuses a ``user_id`` other than our connection's, which would send the original
    back to its queue forever. The original user id travels on as a header."""
    if properties.user_id:
        headers = {**headers, ORIGINAL_USER_ID_HEADER: properties.user_id}
    return replace(properties, headers=headers, expiration=None, user_id=None)


def without_bookkeeping(headers: Mapping[str, Any]) -> dict[str, Any]:
    """``headers`` without our signed bookkeeping headers (a copy's are written anew, never carried over)."""
    return {k: v for k, v in headers.items() if k not in SIGNED_HEADERS}


def retry_copy_properties(
    properties: AmqpProperties, key: bytes, queue: str, attempt: int, routing_key: str, exchange: str, body: bytes
) -> AmqpProperties:
    """The properties of a retry copy of a message received ``attempt`` times on ``queue``: the original's, with
    signed bookkeeping headers saying how often it was received and where it was first published (the copy
    travels through the default exchange, which would lose both)."""
    headers = {
        **without_bookkeeping(properties.headers),
        ATTEMPT_HEADER: attempt,
        ROUTING_KEY_HEADER: routing_key,
        EXCHANGE_HEADER: exchange,
        SIGNATURE_HEADER: bookkeeping_signature(key, queue, attempt, routing_key, exchange, body),
    }
    return copy_properties(properties, headers)


class FailedRepublishes:
    """How often publishing a retry copy of a message failed, so the attempt still counts: the original goes
    back to its queue unchanged (its attempt header cannot be updated), and without this count a message whose
    copies can never be published would be received again and again, never reaching its dead letter.

    A message is known by its queue and message id (or its body's hash); nothing is hashed while no republish
    has failed, so deliveries pay nothing for this in the usual case."""

    def __init__(self, limit: int = 10_000) -> None:
        self.limit = limit  # messages remembered; the oldest are forgotten first
        self._counts: OrderedDict[tuple[str, str], int] = OrderedDict()

    @staticmethod
    def _key(queue: str, message_id: str | None, body: bytes) -> tuple[str, str]:
        return queue, message_id or hashlib.sha256(body).hexdigest()

    def count(self, queue: str, message_id: str | None, body: bytes) -> int:
        return self._counts.get(self._key(queue, message_id, body), 0) if self._counts else 0

    def add(self, queue: str, message_id: str | None, body: bytes) -> None:
        key = self._key(queue, message_id, body)
        self._counts[key] = self._counts.pop(key, 0) + 1
        while len(self._counts) > self.limit:
            self._counts.popitem(last=False)

    def forget(self, queue: str, message_id: str | None, body: bytes) -> None:
        if self._counts:
            self._counts.pop(self._key(queue, message_id, body), None)


def signing_key(login: str, password: str, virtualhost: str) -> bytes:
    """The key our retry copies are signed with: derived from the connection's credentials, so every instance of
    a deployment shares it with no setting to make, and a publisher with other credentials cannot forge it."""
    return hashlib.sha256(f"tomodachi-bookkeeping\0{login}\0{password}\0{virtualhost}".encode()).digest()


def bookkeeping_signature(key: bytes, queue: str, attempt: int, routing_key: str, exchange: str, body: bytes) -> str:
    """What a retry copy's bookkeeping headers (attempt, original routing key and exchange) are signed with."""
    fields = f"{queue}\0{attempt}\0{routing_key}\0{exchange}\0".encode() + hashlib.sha256(body).digest()
    return hmac.new(key, fields, hashlib.sha256).hexdigest()


def signed_by_us(headers: Mapping[str, Any], key: bytes, queue: str, body: bytes, names: tuple[str, str, str]) -> bool:
    """Whether the bookkeeping headers ``names`` (attempt, routing key, exchange) of a delivery on ``queue`` were
    put there by one of our services (anyone who may publish can write headers; only we can sign them)."""
    attempt_header, routing_key_header, exchange_header = names
    given = headers.get(SIGNATURE_HEADER)
    if not isinstance(given, str):
        return False
    try:
        attempt = int(headers.get(attempt_header, 0))
    except (TypeError, ValueError):
        return False
    expected = bookkeeping_signature(
        key, queue, attempt, str(headers.get(routing_key_header, "")), str(headers.get(exchange_header, "")), body
    )
    return hmac.compare_digest(given, expected)
