"""Deprecated alias of :mod:`tomodachi.envelope.protobuf_base`."""

from tomodachi.envelope.protobuf_base import PROTOCOL_VERSION, ProtobufBase

__all__ = ["PROTOCOL_VERSION", "ProtobufBase"]
