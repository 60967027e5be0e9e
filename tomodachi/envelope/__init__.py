"""Message envelopes: how payloads are wrapped on the wire (JsonBase, ProtobufBase, or your own class)."""

from __future__ import annotations

from tomodachi.envelope.base import MessageEnvelope, MessageEnvelopeProtocol
from tomodachi.envelope.json_base import JsonBase
from tomodachi.envelope.protobuf_base import ProtobufBase

__all__ = ["JsonBase", "MessageEnvelope", "MessageEnvelopeProtocol", "ProtobufBase"]
