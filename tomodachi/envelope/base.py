"""The duck-typed envelope contract shared by AMQP and SNS+SQS (spec §6)."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable


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


def validate_envelope(envelope: Any, **parser_kwargs: Any) -> None:
    """Check a custom envelope at decoration time, then run its optional ``validate(**parser_kwargs)``."""
    if envelope is None:
        return
    if not callable(getattr(envelope, "parse_message", None)):
        raise TypeError(f"message_envelope {envelope!r} has no parse_message(payload, **kwargs) method")
    validate = getattr(envelope, "validate", None)
    if callable(validate):
        validate(**parser_kwargs)
