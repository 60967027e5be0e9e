"""What ``fake_amqp.publish`` sends, on either wire: the message a service's ``amqp_publish`` would send, with the
test's headers or properties (and no header a provider adds: the test is not a traced service)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from tomodachi.messaging.amqp.api import content_type_of, outgoing_properties
from tomodachi.messaging.amqp.descriptors import AmqpProperties, AmqpPublication
from tomodachi.messaging.broker import environment_of
from tomodachi.testing.fakes.base import build_body


async def publication_from_test(
    sender: object,
    routing_key: str,
    data: Any,
    envelope: object,
    attributes: Mapping[str, object] | None,
    properties: AmqpProperties | None,
    exchange_name: str,
    wire_routing_key: str,
) -> AmqpPublication:
    """``data`` in ``envelope`` (``None``: the raw body) as ``sender`` publishes it to ``exchange_name``:
    ``attributes`` as headers; given ``properties`` are used as they are, with ``attributes`` joining their
    headers."""
    body = await build_body(envelope, sender, routing_key, data)
    raw = body.encode("utf-8") if isinstance(body, str) else bytes(body)
    if properties is None:
        now = environment_of(sender).clock.time()
        properties = outgoing_properties(content_type_of(envelope, body), now, dict(attributes or {}))
    elif attributes:
        properties = replace(properties, headers={**(properties.headers or {}), **attributes})
    return AmqpPublication(exchange_name, wire_routing_key, raw, properties)


__all__ = ["publication_from_test"]
