"""AMQP 0-9-1 frames of the hot paths, encoded and decoded directly (publish, ack, nack; a delivery's method and
content header): pamqp's general codec costs tens of µs per message, more than the rest of a publish or delivery."""

from __future__ import annotations

import struct
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

import pamqp.decode
import pamqp.encode
import pamqp.frame

from tomodachi.messaging.amqp.descriptors import AmqpProperties

_FRAME_METHOD = 1
_FRAME_HEADER = 2
_FRAME_BODY = 3
_FRAME_END = b"\xce"
_BASIC = 60
_FRAME_OVERHEAD = 8  # type, channel, size, frame-end

_frame_head = struct.Struct(">BHI")
_ack = struct.Struct(">BHIHHQB")  # a whole Basic.Ack / Basic.Nack frame minus its frame-end
_content_head = struct.Struct(">BHIHHQ")  # a content header frame up to its property flags
_publish_head = struct.pack(">HHH", 60, 40, 0)  # Basic.Publish, reserved ticket
_METHOD_CACHE_SIZE = 1024
# Basic.Publish frames by (channel, exchange, routing key): most services publish to a handful of keys
_methods: dict[tuple[int, str, str], bytes] = {}
_octet = struct.Struct(">B")
_long = struct.Struct(">I")
_double = struct.Struct(">d")
_timestamp = struct.Struct(">Q")

_SHORT, _OCTET, _TIMESTAMP, _TABLE = range(4)
# Basic.Properties in wire order: (attribute, flag bit, encoding); cluster_id (bit 2) is never sent
_PROPERTIES: tuple[tuple[str, int, int], ...] = (
    ("content_type", 1 << 15, _SHORT),
    ("content_encoding", 1 << 14, _SHORT),
    ("headers", 1 << 13, _TABLE),
    ("delivery_mode", 1 << 12, _OCTET),
    ("priority", 1 << 11, _OCTET),
    ("correlation_id", 1 << 10, _SHORT),
    ("reply_to", 1 << 9, _SHORT),
    ("expiration", 1 << 8, _SHORT),
    ("message_id", 1 << 7, _SHORT),
    ("timestamp", 1 << 6, _TIMESTAMP),
    ("message_type", 1 << 5, _SHORT),
    ("user_id", 1 << 4, _SHORT),
    ("app_id", 1 << 3, _SHORT),
)
_flags = struct.Struct(">H")


def short_string(value: str) -> bytes:
    if type(value) is not str and not isinstance(value, str):
        raise TypeError(f"str required, received {type(value).__name__}")
    raw = value.encode()
    if len(raw) > 255:
        raise ValueError(f"AMQP short string exceeds 255 bytes: {value[:40]!r}…")
    return _octet.pack(len(raw)) + raw


def encode_properties(properties: AmqpProperties) -> bytes:
    """The property flags and values of a content header (what follows its body size), as pamqp would encode
    them: unset (``None``) and empty-string values are left out."""
    values = vars(properties)
    flags = 0
    parts = [b""]  # the flags go first, once known
    for name, bit, kind in _PROPERTIES:
        value = values[name]
        if value is None or value == "":
            continue
        if kind == _SHORT:
            parts.append(short_string(value))
        elif kind == _OCTET:
            if name == "delivery_mode" and value not in (1, 2):
                raise ValueError(f"Invalid delivery_mode value: {value}")
            parts.append(_octet.pack(value))
        elif kind == _TIMESTAMP:
            parts.append(_timestamp.pack(int(value.timestamp() if isinstance(value, datetime) else value)))
        else:
            if not value:
                continue  # an empty table is not worth a flag
            parts.append(field_table(value))
        flags |= bit
    parts[0] = _flags.pack(flags)
    return b"".join(parts)


def field_table(table: Mapping[str, Any]) -> bytes:
    """A field table as pamqp encodes it (keys sorted, cut to 128 bytes), except that a float is a 64-bit double:
    pamqp writes 32 bits, and 0.1 would reach the consumer as 0.10000000149011612."""
    parts = []
    for key, item in sorted(table.items()):
        try:
            raw = key.encode("utf-8")
        except AttributeError:
            raise TypeError(f"a header name is a str, not {key!r}") from None
        if len(raw) > 128:  # the longest field name AMQP allows (pamqp cuts it the same way)
            key = raw[:128].decode("utf-8", "ignore")
        parts.append(pamqp.encode.short_string(key))
        try:
            parts.append(_table_value(item))
        except TypeError as exc:
            raise TypeError(f"{key} error: {exc}") from exc
    data = b"".join(parts)
    return _long.pack(len(data)) + data


def _table_value(value: Any) -> bytes:
    if isinstance(value, float):
        return b"d" + _double.pack(value)
    if isinstance(value, dict):
        return b"F" + field_table(value)
    if isinstance(value, list):
        data = b"".join([_table_value(item) for item in value])
        return b"A" + _long.pack(len(data)) + data
    return pamqp.encode.encode_table_value(value)


def delivered_headers(headers: Mapping[str, Any]) -> dict[str, Any]:
    """``headers`` as a consumer gets them after the wire: encoded and decoded again (sorted; a datetime in whole
    seconds, UTC; text as str), or a ``TypeError`` for a value a field table cannot carry."""
    _, decoded = pamqp.decode.field_table(field_table(headers))
    return {key: header_text(value) for key, value in decoded.items()}


def header_text(value: Any) -> Any:
    """A header value as a handler gets it: bytes that are UTF-8 text become str."""
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return value
    return value


def encode_publish(
    channel_id: int, exchange: str, routing_key: str, properties: bytes, body: bytes, frame_max: int
) -> bytes:
    """Basic.Publish + content header + body frame(s) for one message, ready for the socket."""
    key = (channel_id, exchange, routing_key)
    method = _methods.get(key)
    if method is None:
        payload = b"".join((_publish_head, short_string(exchange), short_string(routing_key), b"\x00"))
        method = _frame_head.pack(_FRAME_METHOD, channel_id, len(payload)) + payload + _FRAME_END
        if len(_methods) >= _METHOD_CACHE_SIZE:
            _methods.clear()
        _methods[key] = method
    size = len(body)
    header = _content_head.pack(_FRAME_HEADER, channel_id, 12 + len(properties), _BASIC, 0, size)
    chunk = frame_max - _FRAME_OVERHEAD if frame_max > _FRAME_OVERHEAD else size
    if size == 0:
        return method + header + properties + _FRAME_END
    if size <= chunk:
        return b"".join(
            (method, header, properties, _FRAME_END, _frame_head.pack(_FRAME_BODY, channel_id, size), body, _FRAME_END)
        )
    pieces = [method, header, properties, _FRAME_END]
    for start in range(0, size, chunk):
        part = body[start : start + chunk]
        pieces += (_frame_head.pack(_FRAME_BODY, channel_id, len(part)), part, _FRAME_END)
    return b"".join(pieces)


def encode_ack(channel_id: int, delivery_tag: int) -> bytes:
    """Basic.Ack (not ``multiple``) for one delivery."""
    return _ack.pack(_FRAME_METHOD, channel_id, 13, _BASIC, 80, delivery_tag, 0) + _FRAME_END


def encode_nack(channel_id: int, delivery_tag: int, requeue: bool = True) -> bytes:
    """Basic.Nack (not ``multiple``) for one delivery."""
    return _ack.pack(_FRAME_METHOD, channel_id, 13, _BASIC, 120, delivery_tag, 2 if requeue else 0) + _FRAME_END


def frame_max_of(protocol: Any) -> int:
    """The negotiated maximum frame size of a connection (0: no limit known)."""
    return int(getattr(protocol, "server_frame_max", 0) or 0)


# ---- decoding ----------------------------------------------------------------------------------------------------

DELIVER = b"\x00\x3c\x00\x3c"  # the start of a Basic.Deliver method frame's payload
_deliver_fields = struct.Struct(">QB")
_content = struct.Struct(">HHQH")
_READ_PROPERTIES = (*_PROPERTIES, ("cluster_id", 1 << 2, _SHORT))


def decode_deliver(payload: bytes) -> tuple[str, int, bool, str, str]:
    """Consumer tag, delivery tag, redelivered, exchange and routing key of a Basic.Deliver method payload."""
    size = payload[4]
    consumer_tag = payload[5 : 5 + size].decode()
    at = 5 + size
    delivery_tag, bits = _deliver_fields.unpack_from(payload, at)
    at += 9
    size = payload[at]
    exchange = payload[at + 1 : at + 1 + size].decode()
    at += 1 + size
    size = payload[at]
    routing_key = payload[at + 1 : at + 1 + size].decode()
    return consumer_tag, delivery_tag, bool(bits & 1), exchange, routing_key


def decode_content_header(payload: bytes) -> tuple[int, dict[str, Any]]:
    """Body size and properties (by aioamqp's attribute names) of a content header payload, decoded like pamqp."""
    _class, _weight, body_size, flags = _content.unpack_from(payload, 0)
    values: dict[str, Any] = {"cluster_id": ""}
    if flags & 1:  # continued property flags: never for basic messages, but pamqp knows how
        header = pamqp.frame._unmarshal_header_frame(payload)
        properties = header.properties
        return header.body_size, {name: getattr(properties, name) for name, _, _ in _READ_PROPERTIES}
    at = 14
    for name, bit, kind in _READ_PROPERTIES:
        if not flags & bit:
            continue
        if kind == _SHORT:
            size = payload[at]
            values[name] = payload[at + 1 : at + 1 + size].decode()
            at += 1 + size
        elif kind == _OCTET:
            values[name] = payload[at]
            at += 1
        elif kind == _TIMESTAMP:
            seconds: float = _timestamp.unpack_from(payload, at)[0]
            if seconds > 0xFFFFFFFF:  # as pamqp: beyond the year 2106 it is milliseconds
                seconds /= 1000.0
            values[name] = datetime.fromtimestamp(seconds, tz=timezone.utc)
            at += 8
        else:
            consumed, values[name] = pamqp.decode.field_table(payload[at:])
            at += consumed
    return body_size, values
