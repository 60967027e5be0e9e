"""AMQP names, byte-for-byte as upstream tomodachi: routing-key encoding and queue names."""

from __future__ import annotations

import binascii
import functools
import hashlib
import re

# characters passed through unchanged; everything else becomes ___<utf-8 hex>_
_UNSAFE = re.compile(r"[^a-zA-Z0-9 `_*#,;.:<>!\"%&/()\[\]{}\\=?'^~+|@$-]")
_ENCODED = re.compile(r"___((?:[a-f0-9]{2}){1,4})_")

DEAD_LETTER_EXCHANGE = "tomodachi.dead-letter"
DEAD_LETTER_SUFFIX = ".dlq"


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
