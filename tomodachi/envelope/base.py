"""The duck-typed envelope contract shared by AMQP and SNS+SQS."""

from __future__ import annotations

import zlib
from collections.abc import Awaitable
from typing import Any, Protocol, runtime_checkable

# the most a compressed message may expand to; a few hundred KB of zeros would otherwise become hundreds of MB
MAX_DECOMPRESSED_BYTES = 32 * 1024 * 1024


@runtime_checkable
class MessageEnvelopeProtocol(Protocol):
    """What a class used as ``message_envelope`` must offer (``validate`` is optional).

    ``build_message(service, topic, data, **kwargs)`` returns the payload string sent on the wire;
    ``parse_message(payload, **kwargs)`` returns ``(message, message_uuid, timestamp)``. A ``message`` of
    ``False`` marks an incompatible payload.
    """

    async def build_message(self, service: Any, topic: str, data: Any, **kwargs: Any) -> str: ...

    async def parse_message(self, payload: str, **kwargs: Any) -> tuple[Any, Any, Any]: ...


MessageEnvelope = MessageEnvelopeProtocol


class MessageParser(Protocol):
    """The half of an envelope a subscriber uses: ``parse_message(payload, **parser_kwargs)`` (a coroutine)
    gives ``(message, message_uuid, timestamp)``; a ``message`` of ``False`` marks an incompatible payload."""

    def parse_message(self, payload: str, **kwargs: Any) -> Awaitable[tuple[Any, object, object]]: ...


def validate_envelope(envelope: object, **parser_kwargs: Any) -> None:
    """Check a custom envelope at decoration time, then run its optional ``validate(**parser_kwargs)``."""
    if envelope is None:
        return
    if not callable(getattr(envelope, "parse_message", None)):
        raise TypeError(f"message_envelope {envelope!r} has no parse_message(payload, **kwargs) method")
    validate = getattr(envelope, "validate", None)
    if callable(validate):
        validate(**parser_kwargs)


class MessageTooLargeError(ValueError):
    """A compressed message expands beyond the envelope's limit: refused (and dead-lettered) unread."""


def bounded_decompress(data: bytes, limit: int = MAX_DECOMPRESSED_BYTES) -> bytes:
    """zlib-decompress ``data``, refusing to produce more than ``limit`` bytes (never allocating more)."""
    decompressor = zlib.decompressobj()
    result = decompressor.decompress(data, limit + 1)
    if len(result) > limit or decompressor.unconsumed_tail:
        raise MessageTooLargeError(
            f"compressed message expands beyond {limit} bytes (the envelope's max_decompressed_size): refused"
        )
    if not decompressor.eof:
        # zlib.decompress would have refused this too: without its end (and checksum) the data is not verified
        raise zlib.error("compressed message is truncated: the zlib stream does not end")
    return result
