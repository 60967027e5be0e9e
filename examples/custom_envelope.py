"""Example: a custom message envelope that signs every message with HMAC-SHA256 and rejects forged ones.

Any class with ``build_message`` / ``parse_message`` class methods works as ``message_envelope``; a parsed dict has
its keys injected into handler parameters by name. Returning ``False`` as the message marks the payload as
incompatible: it is dead-lettered at once, the handler never sees it.

Run with ``EXAMPLE_SIGNING_KEY=... tomodachi run examples/custom_envelope.py`` (RabbitMQ on localhost).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
import uuid
from typing import Any

import tomodachi

SIGNING_KEY = os.environ.get("EXAMPLE_SIGNING_KEY", "not-a-secret").encode()


def _signature(fields: dict[str, Any]) -> str:
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()
    return hmac.new(SIGNING_KEY, canonical, hashlib.sha256).hexdigest()


class SignedEnvelope:
    """Wire format: JSON ``{"id", "sender", "topic", "sent_at", "data", "signature"}``."""

    @classmethod
    async def build_message(cls, service: Any, topic: str, data: Any, **kwargs: Any) -> str:
        fields = {"id": str(uuid.uuid4()), "sender": service.name, "topic": topic, "sent_at": time.time(), "data": data}
        return json.dumps({**fields, "signature": _signature(fields)})

    @classmethod
    async def parse_message(cls, payload: str, **kwargs: Any) -> tuple[Any, str | None, float | None]:
        fields = json.loads(payload)  # not JSON at all: raising also dead-letters the message
        signature = str(fields.pop("signature", ""))
        if not hmac.compare_digest(signature, _signature(fields)):
            return False, fields.get("id"), fields.get("sent_at")
        return fields, fields["id"], fields["sent_at"]


class Invoicing(tomodachi.Service):
    name = "example-invoicing"
    message_envelope = SignedEnvelope

    def __init__(self) -> None:
        self.booked: list[str] = []

    async def issue(self, invoice_id: str, amount: int) -> None:
        await tomodachi.amqp_publish(self, {"invoice_id": invoice_id, "amount": amount}, routing_key="invoice.issued")

    @tomodachi.amqp("invoice.issued")
    async def book(self, data: dict[str, Any], sender: str, message_uuid: str) -> None:
        self.booked.append(f"{data['invoice_id']}={data['amount']} from {sender}")
