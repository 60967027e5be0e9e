"""Deprecated alias of :mod:`tomodachi.envelope` (old import path ``tomodachi.protocol``)."""

from __future__ import annotations

from tomodachi.envelope import JsonBase, ProtobufBase
from tomodachi.envelope.base import MessageEnvelopeProtocol

__all__ = ["JsonBase", "MessageEnvelopeProtocol", "ProtobufBase"]
