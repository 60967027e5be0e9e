"""AMQP names, byte-for-byte as upstream tomodachi: routing-key encoding, queue names, dead-letter headers."""

from __future__ import annotations

import binascii
import functools
import hashlib
import re
from collections.abc import Mapping
from typing import Any

# characters passed through unchanged; everything else becomes ___<utf-8 hex>_
_UNSAFE = re.compile(r"[^a-zA-Z0-9 `_*#,;.:<>!\"%&/()\[\]{}\\=?'^~+|@$-]")
_ENCODED = re.compile(r"___((?:[a-f0-9]{2}){1,4})_")

DEAD_LETTER_EXCHANGE = "tomodachi.dead-letter"
DEAD_LETTER_SUFFIX = ".dlq"

# what a dead-lettered copy says about where it came from and why
DEAD_LETTER_REASON_HEADER = "x-tomodachi-dead-letter-reason"
ORIGINAL_QUEUE_HEADER = "x-tomodachi-original-queue"
ORIGINAL_EXCHANGE_HEADER = "x-tomodachi-original-exchange"
ORIGINAL_ROUTING_KEY_HEADER = "x-tomodachi-original-routing-key"
DELIVERY_COUNT_HEADER = "x-tomodachi-delivery-count"


def expiry_arguments(ttl: float | None) -> dict[str, Any]:
    """The queue arguments of a queue that goes away once unused for ``ttl`` seconds (``None`` / 0: never)."""
    return {"x-expires": int(ttl * 1000)} if ttl else {}


def declarable(exchange: str) -> bool:
    """Whether a publish may create this exchange (never the default or an ``amq.*`` one)."""
    return bool(exchange) and not exchange.startswith("amq.")


def delay_queue_name(queue_name: str, delay_ms: int) -> str:
    """The TTL queue a retry copy waits in for ``delay_ms`` before RabbitMQ dead-letters it back to its queue."""
    return f"{queue_name}.retry.{delay_ms}ms"


def dead_letter_headers(
    headers: Mapping[str, Any], *, reason: str, queue: str, exchange: str, routing_key: str, delivery_count: int
) -> dict[str, Any]:
    """The headers of a dead-lettered copy: the message's own plus where it came from (``routing_key`` as on the
    wire) and why."""
    return {
        **headers,
        DEAD_LETTER_REASON_HEADER: reason,
        ORIGINAL_QUEUE_HEADER: queue,
        ORIGINAL_EXCHANGE_HEADER: exchange,
        ORIGINAL_ROUTING_KEY_HEADER: routing_key,
        DELIVERY_COUNT_HEADER: delivery_count,
    }


@functools.lru_cache(maxsize=1024)  # publishers use a handful of keys, over and over
def encode_routing_key(routing_key: str) -> str:
    return _UNSAFE.sub(
        lambda m: "___" + binascii.hexlify(m.group(0).encode("utf-8")).decode("ascii") + "_", routing_key
    )


def decode_routing_key(encoded: str) -> str:
    if "___" not in encoded:
        return encoded  # nothing encoded (the usual case)

    def decode(match: re.Match[str]) -> str:
        try:
            return binascii.unhexlify(match.group(1)).decode("utf-8")
        except UnicodeDecodeError:  # '_' is never encoded, so a key may hold '___ff_' literally
            return match.group(0)

    return _ENCODED.sub(decode, encoded)


def prefixed_routing_key(routing_key: str, prefix: str | None) -> str:
    """The key bound and published on the wire: ``encode(prefix + key)``."""
    return encode_routing_key(f"{prefix or ''}{routing_key}")


def queue_name(
    routing_key: str,
    func_name: str,
    service_uuid: str,
    *,
    competing: bool,
    explicit_name: str | None = None,
    prefix: str | None = None,
) -> str:
    """Queue for one handler. The hash covers the *unprefixed* encoded key; the queue prefix is not hashed."""
    if explicit_name:
        name = explicit_name
    else:
        encoded = encode_routing_key(routing_key)
        source = encoded if competing else f"{encoded}{func_name}{service_uuid}"
        name = hashlib.sha256(source.encode("utf-8")).hexdigest()
    return f"{prefix or ''}{name}"


def dead_letter_queue_name(queue: str) -> str:
    return f"{queue}{DEAD_LETTER_SUFFIX}"
