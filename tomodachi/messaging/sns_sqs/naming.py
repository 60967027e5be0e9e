"""SNS topic and SQS queue names, derived exactly as upstream tomodachi derives them.

Wire compatibility: a service built here and one built on upstream tomodachi subscribe to the same topics
and, given the same handler/uuid inputs, the same queues. Two deliberate improvements:

- Upstream validated the *raw* topic (only ``[A-Za-z0-9_-]``) before encoding, so the ``___<hex>_`` encoding
  of characters such as ``.`` or ``/`` was unreachable. Here the *encoded* name is validated, so ``a.b`` is
  published as ``a___2e_b``. Every topic that upstream accepted encodes to itself, byte for byte.
- Upstream stripped "``.fifo``" with ``rstrip`` (removing any trailing ``.``/``f``/``i``/``o`` characters);
  here only a literal ``.fifo`` suffix is set aside.

Competing consumers: a competing queue name hashes only the topic, so every handler on every
service using ``competing=True`` for one topic shares one queue and they take turns. That is kept for wire
compatibility; give each service its own ``queue_name`` if each one must see every message.
"""

from __future__ import annotations

import binascii
import hashlib
import re

FIFO_SUFFIX = ".fifo"
MAX_TOPIC_NAME_LENGTH = 256
MAX_QUEUE_NAME_LENGTH = 80
QUEUE_ARN_PREFIX = "arn:aws:sqs:"
TOPIC_ARN_PREFIX = "arn:aws:sns:"

_ENCODE_PATTERN = re.compile(r"[^a-zA-Z0-9_*#-]")
_DECODE_PATTERN = re.compile(r"___((?:[a-f0-9]{2}){1,4})_")
_VALID_NAME = re.compile(r"[a-zA-Z0-9_-]+")
_ENCODED_DOT = "___2e_"
_QUEUE_ARN = re.compile(r"arn:(?P<partition>[a-z][a-z0-9-]*):sqs:(?P<region>[a-z0-9-]+):(?P<account>[0-9]{12}):[^:]+")


def _split_fifo(name: str) -> tuple[str, str]:
    if name.endswith(FIFO_SUFFIX):
        return name[: -len(FIFO_SUFFIX)], FIFO_SUFFIX
    return name, ""


def encode_topic(topic: str) -> str:
    """Replace every char outside ``[A-Za-z0-9_*#-]`` by ``___<utf-8 hex>_``; a trailing ``.fifo`` stays."""
    base, suffix = _split_fifo(topic)
    return _ENCODE_PATTERN.sub(lambda m: "___" + binascii.hexlify(m.group(0).encode("utf-8")).decode() + "_", base) + (
        suffix
    )


def decode_topic(encoded_topic: str) -> str:
    """Inverse of :func:`encode_topic` (sequences that are not valid UTF-8 are left as they are)."""

    def decode(match: re.Match[str]) -> str:
        try:
            return binascii.unhexlify(match.group(1)).decode("utf-8")
        except UnicodeDecodeError:
            return match.group(0)

    return _DECODE_PATTERN.sub(decode, encoded_topic)


def is_wildcard(topic: str) -> bool:
    return "*" in topic or "#" in topic


def topic_name(topic: str, topic_prefix: str | None = "", *, fifo: bool = False) -> str:
    """``topic_prefix + topic`` (+ ``.fifo`` when ``fifo`` and not already there), not yet encoded."""
    name = f"{topic_prefix or ''}{topic}"
    if fifo and not name.endswith(FIFO_SUFFIX):
        name += FIFO_SUFFIX
    return name


def strip_topic_prefix(name: str, topic_prefix: str | None) -> str:
    if topic_prefix and name.startswith(topic_prefix):
        return name[len(topic_prefix) :]
    return name


def validate_topic_name(encoded_name: str) -> None:
    """Raise ``ValueError`` unless ``encoded_name`` is a valid SNS topic name (after encoding)."""
    if len(encoded_name) > MAX_TOPIC_NAME_LENGTH:
        raise ValueError(f"Topic name ({encoded_name}) is too long: at most {MAX_TOPIC_NAME_LENGTH} characters")
    base, _ = _split_fifo(encoded_name)
    if not _VALID_NAME.fullmatch(base):
        raise ValueError(
            f"Topic name ({encoded_name}) may only contain alphanumeric characters, hyphens (-), and underscores (_)"
            " (with an optional .fifo suffix)"
        )


def sns_topic_name(topic: str, topic_prefix: str | None = "", *, fifo: bool = False) -> str:
    """The SNS topic name for publishing/subscribing: prefixed, ``.fifo`` added if needed, encoded, validated."""
    if not topic:
        raise ValueError("Topic name must not be empty")
    encoded = encode_topic(topic_name(topic, topic_prefix, fifo=fifo))
    if not is_wildcard(encoded):
        validate_topic_name(encoded)
    return encoded


def topic_from_arn(topic_arn: str) -> str:
    return topic_arn.rsplit(":", 1)[-1]


def handler_topic(topic_arn: str, topic_prefix: str | None) -> str:
    """The ``topic`` value handlers see: from a notification's TopicArn, decoded, prefix stripped."""
    if not topic_arn:
        return ""
    return strip_topic_prefix(decode_topic(topic_from_arn(topic_arn)), topic_prefix)


def wildcard_matcher(pattern: str) -> re.Pattern[str]:
    """Regex for SNS topic names matched by a wildcard topic (``*``: any chars but an encoded ``.``; ``#``: any)."""
    parts: list[str] = []
    for char in pattern:
        if char == "*":
            parts.append(f"(?:(?!{re.escape(_ENCODED_DOT)}).)*")
        elif char == "#":
            parts.append(".*")
        else:
            parts.append(re.escape(char))
    return re.compile("".join(parts), re.DOTALL)


def wildcard_arn_glob(pattern: str) -> str:
    """The IAM ``ArnLike`` glob for the topic names a wildcard topic matches, as narrow as a glob can say it.

    ``#`` (any run of characters) is exactly the glob's ``*``. A tomodachi ``*`` is any run *without an encoded
    dot*, which IAM cannot say: its globs have ``*`` (any run) and ``?`` (one character) but no character
    classes or negation, and an ``ArnNotLike`` exclusion cannot stand in either, since it cannot tell which split
    of the name the matcher chose (``#.*`` accepts ``a.b.c``, which "a dot inside the ``*`` part" would refuse).
    So the glob reads every ``*`` as ``#``: it allows exactly what the matcher would with ``*`` read as ``#``.
    Topic names hold no ``*``, ``?`` or ``:`` of their own (they are encoded), so nothing else needs escaping.
    """
    return pattern.replace("#", "*")


def sns_arn_prefix(queue_arn: str) -> str:
    """``arn:<partition>:sns:<region>:<account>:``, the ARN prefix of the topics in the queue's own partition,
    region and account. A queue ARN that does not say all three (or says them with wildcards) is a ``ValueError``:
    guessing would mean allowing topics of any account."""
    match = _QUEUE_ARN.fullmatch(queue_arn)
    if match is None:
        raise ValueError(
            f"Cannot tell the partition, region and account from the queue ARN {queue_arn!r} "
            "(expected arn:<partition>:sqs:<region>:<12-digit account>:<queue name>)"
        )
    return f"arn:{match['partition']}:sns:{match['region']}:{match['account']}:"


def queue_name(
    topic: str | None,
    func_name: str,
    service_uuid: str,
    *,
    competing: bool | None,
    queue_name_prefix: str | None = "",
    fifo: bool = False,
) -> str:
    """Auto queue name: ``prefix + sha256(encoded_topic [+ func_name + uuid unless competing])`` (+ ``.fifo``).

    The topic is hashed without ``topic_prefix``, as upstream does.
    """
    encoded = encode_topic(topic or "")
    source = encoded if competing else f"{encoded}{func_name}{service_uuid}"
    name = hashlib.sha256(source.encode("utf-8")).hexdigest()
    if fifo:
        name += FIFO_SUFFIX
    return f"{queue_name_prefix or ''}{name}"


def prefixed_queue_name(name: str, queue_name_prefix: str | None = "") -> str:
    return f"{queue_name_prefix or ''}{name}"


def validate_queue_name(name: str) -> None:
    if len(name) > MAX_QUEUE_NAME_LENGTH:
        raise ValueError(f"Queue name ({name}) is too long: at most {MAX_QUEUE_NAME_LENGTH} characters")
    base, _ = _split_fifo(name)
    if not _VALID_NAME.fullmatch(base):
        raise ValueError(
            f"Queue name ({name}) may only contain alphanumeric characters, hyphens (-), and underscores (_)"
            " (with an optional .fifo suffix)"
        )


def is_queue_arn(name: str) -> bool:
    return name.startswith(QUEUE_ARN_PREFIX)


def queue_name_from_arn(queue_arn: str) -> str:
    return queue_arn.rsplit(":", 1)[-1]


def queue_name_from_url(queue_url: str) -> str:
    return queue_url.rstrip("/").rsplit("/", 1)[-1]


def readable_queue_name(target: str) -> str:
    """A queue named by name, ARN or URL → its name."""
    if is_queue_arn(target):
        return queue_name_from_arn(target)
    if target.startswith(("https://", "http://")):
        return queue_name_from_url(target)
    return target


def resolve_queue_name(
    name: str, queue_name_prefix: str | None = "", *, fifo: bool | None = None, validate: bool = True
) -> str:
    """An explicit ``queue_name`` (name, ARN or URL) → the SQS queue name, prefixed for plain names.

    ``fifo`` (when given) must agree with the ``.fifo`` suffix, as a mismatch cannot work on SQS.
    """
    if is_queue_arn(name):
        resolved = queue_name_from_arn(name)
    elif name.startswith(("https://", "http://")):
        resolved = queue_name_from_url(name)
    else:
        resolved = prefixed_queue_name(name, queue_name_prefix)
        if validate:
            validate_queue_name(resolved)
    if fifo is not None and fifo != resolved.endswith(FIFO_SUFFIX):
        raise ValueError(
            f"Queue name ({resolved}) {'must' if fifo else 'must not'} end with '.fifo' "
            f"for a {'FIFO' if fifo else 'standard'} queue"
        )
    return resolved
