"""JsonBase: the JSON envelope, byte-compatible with upstream tomodachi services sharing the same bus."""

from __future__ import annotations

import base64
import json
import time
import zlib
from json.encoder import encode_basestring_ascii
from typing import Any

from tomodachi.envelope._codec import dumps, loads, uuid4_text
from tomodachi.envelope.base import MAX_DECOMPRESSED_BYTES, bounded_decompress

PROTOCOL_VERSION = "tomodachi-json-base--1.0.0"
COMPATIBLE_PROTOCOL_VERSIONS = ["json_base-wip"]
# data whose JSON text reaches this many characters is sent compressed (zlib, despite the encoding's name)
COMPRESSION_THRESHOLD = 60000
RAW = "raw"
COMPRESSED = "base64_gzip_json"
_PROTOCOL_FIELDS = (
    f'"protocol_version": {dumps(PROTOCOL_VERSION)}, '
    f'"compatible_protocol_versions": {dumps(COMPATIBLE_PROTOCOL_VERSIONS)}'
)


def _json(value: object) -> str:
    """``json.dumps(value)``; a str (the usual name, uuid and topic) straight through the C escaper."""
    return encode_basestring_ascii(value) if isinstance(value, str) else dumps(value)


def _json_number(value: object) -> str:
    """``json.dumps(value)``; a finite float is its repr, as json writes it."""
    return float.__repr__(value) if type(value) is float and value - value == 0.0 else dumps(value)


# the envelope's text before the random part of the message id, by (service name, service uuid); the JSON of topics
_HEADS: dict[tuple[object, object], str] = {}
_TOPICS: dict[str, str] = {}
_CACHED = 1024  # a process publishes as a handful of services to a handful of topics; more are not kept


def _head(name: object, service_uuid: object) -> str:
    """``{"service": {"name": …, "uuid": …}, "metadata": {"message_uuid": "<service uuid>.`` — the message id is
    the service uuid, a dot and a random uuid (whose characters JSON leaves as they are)."""
    key = (name, service_uuid)
    if type(name) is str and type(service_uuid) is str:
        head = _HEADS.get(key)
        if head is not None:
            return head
    prefix = _json(f"{service_uuid if service_uuid is not None else ''}.")[:-1]  # without the closing quote
    head = (
        f'{{"service": {{"name": {_json(name)}, "uuid": {_json(service_uuid)}}}, "metadata": {{"message_uuid": {prefix}'
    )
    if type(name) is str and type(service_uuid) is str and len(_HEADS) < _CACHED:
        _HEADS[key] = head
    return head


def _topic(topic: str) -> str:
    found = _TOPICS.get(topic) if type(topic) is str else None
    if found is None:
        found = _json(topic)
        if type(topic) is str and len(_TOPICS) < _CACHED:
            _TOPICS[topic] = found
    return found


class JsonBase:
    """Wraps ``data`` as ``{"service": …, "metadata": …, "data": …}``, key order preserved.

    ``max_decompressed_size``: the most a compressed payload may expand to (a subclass may raise it)."""

    max_decompressed_size: int = MAX_DECOMPRESSED_BYTES

    @classmethod
    async def build_message(cls, service: object, topic: str, data: Any, **kwargs: object) -> str:
        data_json = dumps(data)
        data_encoding = RAW
        if len(data_json) >= COMPRESSION_THRESHOLD:
            data_json = dumps(base64.b64encode(zlib.compress(data_json.encode("utf-8"))).decode("utf-8"))
            data_encoding = COMPRESSED
        # the text json.dumps gives for {"service": …, "metadata": …, "data": data}, laid out directly: the data is
        # serialised once (its size decides on compression) and the fixed parts are constants or made once
        return (
            f'{_head(getattr(service, "name", None), getattr(service, "uuid", None))}{uuid4_text()}", '
            f'{_PROTOCOL_FIELDS}, "timestamp": {_json_number(time.time())}, "topic": {_topic(topic)}, '
            f'"data_encoding": "{data_encoding}"}}, "data": {data_json}}}'
        )

    @classmethod
    async def parse_message(cls, payload: str, **kwargs: Any) -> tuple[dict[str, Any], Any, Any]:
        message = loads(payload)
        if not isinstance(message, dict):
            raise ValueError(f"JsonBase payload must be a JSON object, got {type(message).__name__}")
        metadata = message.get("metadata")
        if not isinstance(metadata, dict):
            raise ValueError("not a JsonBase envelope: the JSON object has no 'metadata' (sent without an envelope?)")
        service = message.get("service") or {}
        data_encoding = metadata.get("data_encoding")
        if data_encoding == RAW:
            data = message.get("data")
        elif data_encoding == COMPRESSED:
            compressed = base64.b64decode(str(message.get("data")).encode("utf-8"))
            data = json.loads(bounded_decompress(compressed, cls.max_decompressed_size).decode())
        else:
            raise ValueError(f"JsonBase payload has unsupported data_encoding {data_encoding!r}")
        message_uuid = metadata.get("message_uuid")
        timestamp = metadata.get("timestamp")
        parsed = {
            "service": {"name": service.get("name"), "uuid": service.get("uuid")},
            "metadata": {
                "message_uuid": message_uuid,
                "protocol_version": metadata.get("protocol_version"),
                "timestamp": timestamp,
                "topic": metadata.get("topic"),
                "data_encoding": data_encoding,
            },
            "data": data,
        }
        return parsed, message_uuid, timestamp
