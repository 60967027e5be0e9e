"""Upstream's generated module name for the envelope messages: ``SNSSQSMessage``, ``Service`` and ``Metadata``,
built on first access by ``tomodachi.envelope._sns_sqs_message`` (same wire layout, no generated code)."""

from __future__ import annotations

from typing import Any

MESSAGE_NAMES = ("Metadata", "SNSSQSMessage", "Service")


def __getattr__(name: str) -> Any:
    if name in MESSAGE_NAMES:
        from tomodachi.envelope._sns_sqs_message import message_classes

        return message_classes()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
