"""Builds the proto3 ``SNSSQSMessage`` classes at runtime (no protoc), in a private descriptor pool."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from google.protobuf.descriptor_pb2 import DescriptorProto
    from google.protobuf.message import Message

# The wire layout (field numbers and types) is what matters for compatibility; the package name does not
# appear in serialized messages, so a private package keeps these names clear of users' own protos.
_PACKAGE = "tomodachi.envelope.v1"


@functools.cache
def message_classes() -> dict[str, type[Message]]:
    """``{"SNSSQSMessage": cls, "Service": cls, "Metadata": cls}``; imports protobuf on first use."""
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    fdp = descriptor_pb2.FileDescriptorProto(name="tomodachi_sns_sqs_message.proto", package=_PACKAGE, syntax="proto3")
    string = descriptor_pb2.FieldDescriptorProto.TYPE_STRING
    optional = descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL

    def add(message: DescriptorProto, name: str, number: int, kind: int, type_name: str = "") -> None:
        field = message.field.add(name=name, number=number, type=kind, label=optional)
        if type_name:
            field.type_name = f".{_PACKAGE}.{type_name}"

    service = fdp.message_type.add(name="Service")
    add(service, "name", 1, string)
    add(service, "uuid", 2, string)
    metadata = fdp.message_type.add(name="Metadata")
    add(metadata, "message_uuid", 1, string)
    add(metadata, "protocol_version", 2, string)
    add(metadata, "timestamp", 3, descriptor_pb2.FieldDescriptorProto.TYPE_DOUBLE)
    add(metadata, "topic", 4, string)
    add(metadata, "data_encoding", 5, string)
    envelope = fdp.message_type.add(name="SNSSQSMessage")
    add(envelope, "service", 1, descriptor_pb2.FieldDescriptorProto.TYPE_MESSAGE, "Service")
    add(envelope, "metadata", 2, descriptor_pb2.FieldDescriptorProto.TYPE_MESSAGE, "Metadata")
    add(envelope, "data", 3, descriptor_pb2.FieldDescriptorProto.TYPE_BYTES)

    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    return {
        name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{_PACKAGE}.{name}"))
        for name in ("SNSSQSMessage", "Service", "Metadata")
    }
