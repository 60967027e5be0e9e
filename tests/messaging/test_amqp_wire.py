"""The frames we encode ourselves on the hot paths are byte for byte what pamqp (aioamqp's codec) would send."""

from __future__ import annotations

import struct
from datetime import datetime, timezone

import pamqp.body
import pamqp.commands
import pamqp.frame
import pamqp.header
import pytest

from tomodachi.messaging.amqp.descriptors import AmqpProperties
from tomodachi.messaging.amqp.wire import encode_ack, encode_nack, encode_properties, encode_publish

EVERY_PROPERTY = AmqpProperties(
    content_type="application/json",
    content_encoding="gzip",
    headers={"x-count": 3, "x-name": "näme", "x-nested": {"a": [1, "b"]}, "x-flag": True},
    delivery_mode=2,
    priority=5,
    correlation_id="corr",
    reply_to="replies",
    expiration="60000",
    message_id="0123456789abcdef",
    timestamp=1_700_000_000,
    message_type="order",
    user_id="guest",
    app_id="tomodachi",
)


def pamqp_publish(properties: AmqpProperties, body: bytes, frame_max: int, channel: int = 7) -> bytes:
    fields = {
        name: getattr(properties, name)
        for name in (
            "content_type",
            "content_encoding",
            "delivery_mode",
            "priority",
            "correlation_id",
            "reply_to",
            "expiration",
            "message_id",
            "message_type",
            "user_id",
            "app_id",
        )
        if getattr(properties, name) is not None
    }
    if properties.headers:
        fields["headers"] = dict(properties.headers)
    if properties.timestamp is not None:
        fields["timestamp"] = datetime.fromtimestamp(properties.timestamp, tz=timezone.utc)
    method = pamqp.frame.marshal(pamqp.commands.Basic.Publish(exchange="orders", routing_key="order.créée"), channel)
    header = pamqp.header.ContentHeader(0, len(body), pamqp.commands.Basic.Properties(**fields))
    chunk = frame_max - 8
    bodies = b"".join(
        pamqp.frame.marshal(pamqp.body.ContentBody(body[i : i + chunk]), channel) for i in range(0, len(body), chunk)
    )
    return method + pamqp.frame.marshal(header, channel) + bodies


@pytest.mark.parametrize("properties", [EVERY_PROPERTY, AmqpProperties(), AmqpProperties(delivery_mode=1)])
@pytest.mark.parametrize("body", [b"", b"x" * 99, bytes(range(256)) * 3])
def test_publish_frames_match_pamqp(properties: AmqpProperties, body: bytes) -> None:
    frame_max = 200  # small: the larger body spans several body frames
    ours = encode_publish(7, "orders", "order.créée", encode_properties(properties), body, frame_max)
    assert ours == pamqp_publish(properties, body, frame_max)


def test_ack_and_nack_frames_match_pamqp() -> None:
    assert encode_ack(3, 2**40 + 5) == pamqp.frame.marshal(pamqp.commands.Basic.Ack(2**40 + 5, False), 3)
    assert encode_nack(3, 9) == pamqp.frame.marshal(pamqp.commands.Basic.Nack(9, False, True), 3)
    assert encode_nack(3, 9, requeue=False) == pamqp.frame.marshal(pamqp.commands.Basic.Nack(9, False, False), 3)


def test_values_rabbitmq_would_refuse_raise_before_anything_is_written() -> None:
    with pytest.raises(ValueError, match="delivery_mode"):
        encode_properties(AmqpProperties(delivery_mode=3))
    with pytest.raises(ValueError, match="255 bytes"):
        encode_publish(1, "", "k" * 256, encode_properties(AmqpProperties()), b"", 0)
    with pytest.raises(TypeError):
        encode_properties(AmqpProperties(message_id=12345))  # type: ignore[arg-type]


def pamqp_delivery_properties(payload: bytes) -> dict[str, object]:
    import aioamqp.properties

    header = pamqp.frame._unmarshal_header_frame(payload)
    properties = aioamqp.properties.from_pamqp(header.properties)
    return {name: getattr(properties, name) for name in aioamqp.properties.Properties.__slots__}


@pytest.mark.parametrize("properties", [EVERY_PROPERTY, AmqpProperties(), AmqpProperties(timestamp=2**40)])
@pytest.mark.parametrize("size", [0, 99])
def test_content_headers_decode_as_aioamqp_and_pamqp_would(properties: AmqpProperties, size: int) -> None:
    import aioamqp.properties

    from tomodachi.messaging.amqp.wire import decode_content_header

    payload = struct.pack(">HHQ", 60, 0, size) + encode_properties(properties)
    body_size, values = decode_content_header(payload)
    ours = aioamqp.properties.Properties(**values)
    assert body_size == size
    assert {name: getattr(ours, name) for name in aioamqp.properties.Properties.__slots__} == (
        pamqp_delivery_properties(payload)
    )


def test_deliver_frames_decode_as_pamqp_would() -> None:
    from tomodachi.messaging.amqp.wire import DELIVER, decode_deliver

    method = pamqp.commands.Basic.Deliver("ctag-ü", 2**40 + 1, True, "orders", "order.créée")
    payload = pamqp.frame.marshal(method, 1)[7:-1]
    assert payload.startswith(DELIVER)
    decoded = pamqp.frame._unmarshal_method_frame(payload)
    assert decode_deliver(payload) == (
        decoded.consumer_tag,
        decoded.delivery_tag,
        decoded.redelivered,
        decoded.exchange,
        decoded.routing_key,
    )
