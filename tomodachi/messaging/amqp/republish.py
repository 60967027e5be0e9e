"""What our retry and dead-letter copies of a delivery carry, and how failed republishes still count as attempts."""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import replace
from typing import Any

from tomodachi.messaging.amqp.descriptors import AmqpProperties

ORIGINAL_USER_ID_HEADER = "x-tomodachi-original-user-id"


def copy_properties(properties: AmqpProperties, headers: dict[str, Any]) -> AmqpProperties:
    """The properties of a copy we publish: ``headers`` instead of the original's, no per-message TTL, and no
    ``user_id`` — RabbitMQ refuses a ``user_id`` other than our connection's, which would send the original
    back to its queue forever. The original user id travels on as a header."""
    if properties.user_id:
        headers = {**headers, ORIGINAL_USER_ID_HEADER: properties.user_id}
    return replace(properties, headers=headers, expiration=None, user_id=None)


class FailedRepublishes:
    """How often publishing a retry copy of a message failed, so the attempt still counts: the original goes
    back to its queue unchanged (its attempt header cannot be updated), and without this count a message whose
    copies can never be published would be received again and again, never reaching its dead letter."""

    def __init__(self, limit: int = 10_000) -> None:
        self.limit = limit  # messages remembered; the oldest are forgotten first
        self._counts: OrderedDict[tuple[str, str], int] = OrderedDict()

    @staticmethod
    def key(queue: str, message_id: str | None, body: bytes) -> tuple[str, str]:
        return queue, message_id or hashlib.sha256(body).hexdigest()

    def count(self, key: tuple[str, str]) -> int:
        return self._counts.get(key, 0)

    def add(self, key: tuple[str, str]) -> None:
        self._counts[key] = self._counts.pop(key, 0) + 1
        while len(self._counts) > self.limit:
            self._counts.popitem(last=False)

    def forget(self, key: tuple[str, str]) -> None:
        self._counts.pop(key, None)
