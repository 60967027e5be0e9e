"""Deprecated alias of :mod:`tomodachi.envelope.json_base`."""

from tomodachi.envelope.json_base import PROTOCOL_VERSION, JsonBase

__all__ = ["PROTOCOL_VERSION", "JsonBase"]
