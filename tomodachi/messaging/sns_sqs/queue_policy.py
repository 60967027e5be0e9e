"""The queue-policy statements tomodachi writes so that SNS topics may deliver to a queue: written, recognised, pruned."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from tomodachi.messaging.sns_sqs import naming

POLICY_SID_PREFIX = "tomodachi-sns-"
_LEGACY_SID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}[0-9]{13}")
_LEGACY_KEYS = {"Sid", "Effect", "Principal", "Action", "Resource", "Condition"}


def source_for(topic: str | None, override: str | None, arn_prefix: str) -> str | None:
    """The ``aws:SourceArn`` (or pattern) a handler's queue must allow: the ``queue_policy`` /
    ``wildcard_queue_policy`` option when set, else the topic's ARN, or for a wildcard topic the narrowest glob."""
    if not topic:
        return None
    if override:
        return override
    if naming.is_wildcard(topic):
        return f"{arn_prefix}{naming.wildcard_arn_glob(topic)}"
    return f"{arn_prefix}{topic}"


def statement(queue_arn: str, source: str) -> dict[str, Any]:
    """Our statement letting ``source`` (a topic ARN, or an ARN pattern) send to the queue."""
    operator = "ArnLike" if any(char in source for char in "*?") else "ArnEquals"
    return {
        "Sid": f"{POLICY_SID_PREFIX}{hashlib.sha256(source.encode('utf-8')).hexdigest()[:16]}",
        "Effect": "Allow",
        "Principal": "*",
        "Action": "SQS:SendMessage",
        "Resource": queue_arn,
        "Condition": {operator: {"aws:SourceArn": source}},
    }


def _source_of(entry: Mapping[str, Any]) -> str | None:
    condition = entry.get("Condition")
    if not isinstance(condition, Mapping) or len(condition) != 1:
        return None
    [(operator, keys)] = condition.items()
    if operator not in ("ArnEquals", "ArnLike") or not isinstance(keys, Mapping) or list(keys) != ["aws:SourceArn"]:
        return None
    source = keys["aws:SourceArn"]
    return source if isinstance(source, str) else None


def _written_by_earlier_versions(entry: Mapping[str, Any], queue_arn: str) -> bool:
    sid = entry.get("Sid")
    return (
        isinstance(sid, str)
        and _LEGACY_SID.fullmatch(sid) is not None
        and set(entry) == _LEGACY_KEYS
        and entry.get("Effect") == "Allow"
        and entry.get("Principal") in ("*", {"AWS": "*"})
        and str(entry.get("Action")).lower() == "sqs:sendmessage"
        and entry.get("Resource") == queue_arn
        and isinstance(entry.get("Condition"), Mapping)
        and list(entry["Condition"]) == ["ArnEquals"]
        and _source_of(entry) is not None
    )


def is_ours(entry: Any, queue_arn: str) -> bool:
    """A statement is *ours* when its Sid starts with :data:`POLICY_SID_PREFIX`, or when it is exactly what earlier
    versions (and upstream tomodachi) wrote: a Sid of a uuid4 followed by epoch milliseconds, allowing
    ``SQS:SendMessage`` to the queue for any principal under one ``ArnEquals aws:SourceArn`` condition. Every other
    statement belongs to someone else and is kept as it is; ours are kept only while a handler still wants them."""
    if not isinstance(entry, Mapping):
        return False
    sid = entry.get("Sid")
    return (isinstance(sid, str) and sid.startswith(POLICY_SID_PREFIX)) or _written_by_earlier_versions(
        entry, queue_arn
    )


def _key(entry: Any) -> str:
    """A statement's meaning, whatever its Sid (a statement of someone else's identical to ours is not repeated)."""
    if not isinstance(entry, Mapping):
        return json.dumps(entry, sort_keys=True, default=str)
    return json.dumps({k: v for k, v in entry.items() if k != "Sid"}, sort_keys=True, default=str)


def updated(current: str | None, queue_arn: str, wanted: Sequence[str], keep: Collection[str]) -> str | None:
    """The queue policy with our statements for ``wanted`` present and ours for any source outside ``keep``
    (``wanted`` included) removed, everyone else's kept in place; ``None`` when nothing changes, ``""`` when no
    statement is left (which removes the policy)."""
    try:
        document = json.loads(current) if current else {}
    except ValueError:
        document = {}
    if not isinstance(document, dict):
        document = {}
    entries = document.get("Statement", [])
    entries = [entries] if isinstance(entries, dict) else list(entries) if isinstance(entries, list) else []
    keep = {*keep, *wanted}
    result: list[Any] = []
    granted: set[str] = set()
    changed = False
    for entry in entries:
        if is_ours(entry, queue_arn):
            source = _source_of(entry)
            if source is None or source not in keep or source in granted:
                changed = True
                continue
            granted.add(source)
        result.append(entry)
    known = {_key(entry) for entry in result}
    for source in dict.fromkeys(wanted):
        new = statement(queue_arn, source)
        if source in granted or _key(new) in known:
            continue
        result.append(new)
        granted.add(source)
        changed = True
    if not changed:
        return None
    if not result:
        return ""
    rest = {k: v for k, v in document.items() if k not in ("Version", "Id", "Statement")}
    return json.dumps(
        {
            "Version": document.get("Version", "2012-10-17"),
            "Id": document.get("Id", f"{queue_arn}/SQSDefaultPolicy"),
            **rest,
            "Statement": result,
        }
    )
