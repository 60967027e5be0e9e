"""JsonBase: the JSON envelope, byte-compatible with upstream tomodachi services sharing the same bus."""

from __future__ import annotations

import base64
import json
import time
import uuid
import zlib
from typing import Any

from tomodachi.envelope.base import MAX_DECOMPRESSED_BYTES, bounded_decompress

PROTOCOL_VERSION = "tomodachi-json-base--1.0.0"
COMPATIBLE_PROTOCOL_VERSIONS = ["json_base-wip"]
# data whose JSON text reaches this many characters is sent compressed (zlib, despite the encoding's name)
COMPRESSION_THRESHOLD = 60000
RAW = "raw"
COMPRESSED = "base64_gzip_json"


class JsonBase:
    """Wraps ``data`` as ``{"service": …, "metadata": …, "data": …}``, key order preserved.

    ``max_decompressed_size``: the most a compressed payload may expand to (a subclass may raise it)."""

    max_decompressed_size: int = MAX_DECOMPRESSED_BYTES

    @classmethod
    async def build_message(cls, service: object, topic: str, data: Any, **kwargs: object) -> str:
        data_json = json.dumps(data)
        data_encoding = RAW
        payload: Any = data
        if len(data_json) >= COMPRESSION_THRESHOLD:
            payload = base64.b64encode(zlib.compress(data_json.encode("utf-8"))).decode("utf-8")
            data_encoding = COMPRESSED
        service_uuid = getattr(service, "uuid", None)
        message = {
            "service": {"name": getattr(service, "name", None), "uuid": service_uuid},
            "metadata": {
                "message_uuid": f"{service_uuid if service_uuid is not None else ''}.{uuid.uuid4()}",
                "protocol_version": PROTOCOL_VERSION,
                "compatible_protocol_versions": list(COMPATIBLE_PROTOCOL_VERSIONS),
                "timestamp": time.time(),
                "topic": topic,
                "data_encoding": data_encoding,
            },
            "data": payload,
        }
        return json.dumps(message)

    @classmethod
    async def parse_message(cls, payload: str, **kwargs: Any) -> tuple[dict[str, Any], Any, Any]:
        message = json.loads(payload)
        if not isinstance(message, dict):
            raise ValueError(f"JsonBase payload must be a JSON object, got {type(message).__name__}")
        if not isinstance(message.get("metadata"), dict):
            raise ValueError("not a JsonBase envelope: the JSON object has no 'metadata' (sent without an envelope?)")
        service = message.get("service") or {}
        metadata = message.get("metadata") or {}
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
