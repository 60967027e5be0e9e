"""AmqpProperties: built by name or position, a fresh headers dict each, frozen, and copied by
``dataclasses.replace`` with every field (what retry copies and the wire encoder rely on)."""

from __future__ import annotations

import dataclasses

import pytest

from tomodachi.messaging.amqp.descriptors import AmqpProperties

FIELDS = (
    "content_type",
    "content_encoding",
    "headers",
    "delivery_mode",
    "priority",
    "correlation_id",
    "reply_to",
    "expiration",
    "message_id",
    "timestamp",
    "message_type",
    "user_id",
    "app_id",
)


def test_defaults_are_none_with_a_fresh_headers_dict_per_instance() -> None:
    first, second = AmqpProperties(), AmqpProperties()
    assert vars(first) == {**dict.fromkeys(FIELDS), "headers": {}}
    assert first.headers is not second.headers
    assert AmqpProperties(headers=None).headers is None  # type: ignore[arg-type]  # kept as given, as before


def test_fields_keep_their_order_by_position_and_by_name() -> None:
    values = ("text/plain", "gzip", {"h": 1}, 2, 5, "c", "r", "60", "m", 7, "t", "u", "a")
    by_position = AmqpProperties(*values)  # type: ignore[arg-type]
    assert tuple(field.name for field in dataclasses.fields(AmqpProperties)) == FIELDS
    assert tuple(vars(by_position)) == FIELDS and tuple(vars(by_position).values()) == values
    assert by_position == AmqpProperties(**dict(zip(FIELDS, values, strict=True)))  # type: ignore[arg-type]
    assert repr(AmqpProperties(message_id="m")).startswith("AmqpProperties(content_type=None, ")
    with pytest.raises(TypeError):
        AmqpProperties(unknown=1)  # type: ignore[call-arg]


def test_frozen_and_copied_by_replace() -> None:
    original = AmqpProperties(message_id="m", user_id="u", headers={"a": 1})
    with pytest.raises(dataclasses.FrozenInstanceError):
        original.message_id = "other"  # type: ignore[misc]
    copy = dataclasses.replace(original, headers={"b": 2}, user_id=None)
    assert (copy.message_id, copy.user_id, copy.headers) == ("m", None, {"b": 2})
    assert original == AmqpProperties(message_id="m", user_id="u", headers={"a": 1}) != copy
