"""Which message envelope a handler or a publish uses: the one given, else the service's."""

from __future__ import annotations

from typing import Any

from tomodachi.messaging.unset import UNSET


def resolve_envelope(service: object, message_envelope: object = UNSET, message_protocol: object = UNSET) -> Any:
    """The explicit ``message_envelope`` (``None``: raw bodies), else the deprecated ``message_protocol``
    argument, else the service's ``message_envelope`` / ``message_protocol`` attribute, else ``None``."""
    if message_envelope is not UNSET:
        return message_envelope
    if message_protocol is not UNSET:
        return message_protocol
    envelope = getattr(service, "message_envelope", None)
    if envelope is None:
        envelope = getattr(service, "message_protocol", None)
    return envelope
