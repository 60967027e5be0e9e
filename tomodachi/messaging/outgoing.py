"""What every outgoing message gets: headers registered providers add (AMQP headers, SNS/SQS message attributes;
the seam trace-context propagation uses), and the publish attempts. Imports nothing; costs one check while no
provider is registered."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from tomodachi.logging import FrameworkLogger

# SNS and SQS refuse a message with more than 10 message attributes: a provider never pushes one over the limit
ATTRIBUTE_LIMITS = {"sns": 10, "sqs": 10}
# how often a publish function sends a message before giving up on a transient failure (as upstream)
PUBLISH_ATTEMPTS = 3


def _logger() -> FrameworkLogger:
    from tomodachi.logging import framework_logger  # only on a failure: publishing imports no logging set-up

    return framework_logger("tomodachi.messaging")


class HeaderProvider(Protocol):
    """Called for each outgoing message; returns the headers to add. ``kind`` is ``"amqp"``, ``"sns"`` or
    ``"sqs"``; ``destination`` is the routing key, topic or queue as the service named it (no prefix)."""

    def __call__(self, service: object, kind: str, destination: str) -> dict[str, str]: ...


_providers: tuple[HeaderProvider, ...] = ()


def add_header_provider(provider: HeaderProvider) -> None:
    """Register ``provider`` (once; a second registration of the same provider is ignored)."""
    global _providers
    if provider not in _providers:
        _providers = (*_providers, provider)


def remove_header_provider(provider: HeaderProvider) -> None:
    global _providers
    _providers = tuple(p for p in _providers if p != provider)


def header_providers() -> tuple[HeaderProvider, ...]:
    return _providers


def add_outgoing_headers(
    carrier: MutableMapping[str, object], service: object, kind: str, destination: str
) -> MutableMapping[str, object]:
    """Add every provider's headers to ``carrier`` (the message's own headers or attributes) and return it. A
    header the caller set itself is kept; a failing provider is logged and skipped, never failing the publish."""
    if not _providers:
        return carrier
    limit = ATTRIBUTE_LIMITS.get(kind)
    for provider in _providers:
        try:
            added = provider(service, kind, destination)
        except Exception:
            _logger().exception("outgoing message header provider failed", provider=repr(provider))
            continue
        for key, value in added.items():
            if key in carrier:
                continue
            if limit is not None and len(carrier) >= limit:
                _logger().debug("message attribute limit reached: header not added", header=key)
                break
            carrier[key] = value
    return carrier


__all__ = [
    "ATTRIBUTE_LIMITS",
    "PUBLISH_ATTEMPTS",
    "HeaderProvider",
    "add_header_provider",
    "add_outgoing_headers",
    "header_providers",
    "remove_header_provider",
]
