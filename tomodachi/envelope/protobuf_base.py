"""ProtobufBase: the protobuf envelope (base64 of a proto3 ``SNSSQSMessage``), compatible with upstream."""

from __future__ import annotations

import base64
import time
import uuid
import zlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from google.protobuf.message import Message

from tomodachi.envelope.base import MAX_DECOMPRESSED_BYTES, bounded_decompress

PROTOCOL_VERSION = "tomodachi-protobuf-base--1.0.0"
# serialized user messages larger than this many bytes are sent zlib-compressed ("gzip_proto")
COMPRESSION_THRESHOLD = 60000


def _message_class() -> Any:
    try:
        from tomodachi.envelope._sns_sqs_message import message_classes
    except ImportError as exc:  # pragma: no cover - exercised by test with protobuf hidden
        raise _missing_protobuf() from exc
    try:
        return message_classes()["SNSSQSMessage"]
    except ImportError as exc:
        raise _missing_protobuf() from exc


def _missing_protobuf() -> ImportError:
    return ImportError(
        "ProtobufBase needs the 'protobuf' package, which is not installed. "
        "Install it with: pip install 'tomodachi[protobuf]'"
    )


def _decode_data(data: bytes, data_encoding: str, limit: int = MAX_DECOMPRESSED_BYTES) -> bytes:
    if data_encoding == "proto":
        return data
    if data_encoding == "gzip_proto":
        return bounded_decompress(data, limit)
    if data_encoding == "base64":  # legacy encoding
        return base64.b64decode(data)
    if data_encoding == "base64_gzip_proto":  # legacy encoding
        return bounded_decompress(base64.b64decode(data), limit)
    if data_encoding == "raw":
        raise ValueError("ProtobufBase message has data_encoding 'raw', which cannot be parsed into proto_class")
    raise ValueError(f"ProtobufBase message has unsupported data_encoding {data_encoding!r}")


class ProtobufBase:
    """Carries a protobuf user message; handlers declare ``proto_class=`` (and optionally ``validator=``).

    ``max_decompressed_size``: the most a compressed payload may expand to (a subclass may raise it)."""

    max_decompressed_size: int = MAX_DECOMPRESSED_BYTES

    @classmethod
    def validate(cls, **kwargs: object) -> None:
        if "proto_class" not in kwargs or kwargs["proto_class"] is None:
            raise ValueError("ProtobufBase needs the decorator keyword 'proto_class' (the protobuf message class)")
        _message_class()  # fail at decoration, not per message, when protobuf is missing
        from google.protobuf.message import Message

        proto_class = kwargs["proto_class"]
        if not (isinstance(proto_class, type) and issubclass(proto_class, Message)):
            raise TypeError(f"ProtobufBase's 'proto_class' must be a protobuf message class, got {proto_class!r}")

    @classmethod
    async def build_message(cls, service: object, topic: str, data: object, **kwargs: object) -> str:
        envelope_class = _message_class()
        serialize = getattr(data, "SerializeToString", None)
        if not callable(serialize):
            raise TypeError(f"ProtobufBase can only send protobuf messages, got {type(data).__name__}")
        message_data: bytes = serialize()
        data_encoding = "proto"
        if len(message_data) > COMPRESSION_THRESHOLD:
            message_data = zlib.compress(message_data)
            data_encoding = "gzip_proto"
        service_uuid = getattr(service, "uuid", None)
        message = envelope_class()
        message.service.name = getattr(service, "name", None) or ""
        message.service.uuid = service_uuid or ""
        message.metadata.message_uuid = f"{service_uuid or ''}.{uuid.uuid4()}"
        message.metadata.protocol_version = PROTOCOL_VERSION
        message.metadata.timestamp = time.time()
        message.metadata.topic = topic
        message.metadata.data_encoding = data_encoding
        message.data = message_data
        return base64.b64encode(message.SerializeToString()).decode("ascii")

    @classmethod
    async def parse_message(
        cls,
        payload: str,
        proto_class: type[Message] | None = None,
        validator: Callable[..., object] | None = None,
        **kwargs: object,
    ) -> tuple[dict[str, Any], Any, Any]:
        message = _message_class()()
        message.ParseFromString(base64.b64decode(payload))
        metadata = message.metadata
        data: Any
        if proto_class is None:
            data = message.data
        else:
            data = proto_class()
            data.ParseFromString(_decode_data(message.data, metadata.data_encoding, cls.max_decompressed_size))
            if validator is not None:
                # a staticmethod picked off a class body arrives unwrapped; call the function itself
                getattr(validator, "__func__", validator)(data)
        parsed = {
            "service": {"name": message.service.name, "uuid": message.service.uuid},
            "metadata": {
                "message_uuid": metadata.message_uuid,
                "protocol_version": metadata.protocol_version,
                "timestamp": metadata.timestamp,
                "topic": metadata.topic,
                "data_encoding": metadata.data_encoding,
            },
            "data": data,
        }
        return parsed, metadata.message_uuid, metadata.timestamp
