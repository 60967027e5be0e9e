"""The part of IAM policy evaluation the in-memory SQS applies to an SNS delivery: may this topic send to this queue."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

SNS_PRINCIPAL = "sns.amazonaws.com"
_SEND_ACTIONS = {"sqs:sendmessage", "sqs:*", "*"}
_ARN_POSITIVE = {"arnequals", "arnlike"}
_ARN_NEGATIVE = {"arnnotequals", "arnnotlike"}


@lru_cache(maxsize=1024)
def _glob(pattern: str) -> re.Pattern[str]:
    """IAM's glob: ``*`` any run of characters, ``?`` exactly one; everything else is itself."""
    parts = [".*" if char == "*" else "." if char == "?" else re.escape(char) for char in pattern]
    return re.compile("".join(parts), re.DOTALL)


def arn_like(pattern: str, arn: str) -> bool:
    """IAM's ``ArnLike`` (``ArnEquals`` behaves the same): each of the six colon-separated parts of the ARN is
    compared on its own, so a wildcard never reaches across a colon into another part; a pattern of fewer parts
    matches nothing, except ``*`` alone, which matches anything."""
    if pattern == "*":
        return True
    pattern_parts, arn_parts = pattern.split(":", 5), arn.split(":", 5)
    if len(pattern_parts) != 6 or len(arn_parts) != 6:
        return False
    return all(_glob(p).fullmatch(a) is not None for p, a in zip(pattern_parts, arn_parts, strict=True))


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _principal_is_sns(principal: Any) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, Mapping):
        return False
    return "*" in _as_list(principal.get("AWS")) or SNS_PRINCIPAL in _as_list(principal.get("Service"))


def _condition_holds(condition: Any, source_arn: str) -> bool:
    """Every operator must hold; an operator or key this model does not know makes the statement not apply."""
    if not condition:
        return True
    if not isinstance(condition, Mapping):
        return False
    for operator, keys in condition.items():
        if not isinstance(keys, Mapping) or not keys:
            return False
        for key, values in keys.items():
            if str(key).lower() != "aws:sourcearn":
                return False
            hit = any(arn_like(str(value), source_arn) for value in _as_list(values))
            name = str(operator).lower()
            if (name in _ARN_POSITIVE and not hit) or (name in _ARN_NEGATIVE and hit):
                return False
            if name not in _ARN_POSITIVE | _ARN_NEGATIVE:
                return False
    return True


def _applies(statement: Mapping[str, Any], queue_arn: str, source_arn: str) -> bool:
    if not any(str(action).lower() in _SEND_ACTIONS for action in _as_list(statement.get("Action"))):
        return False
    if not _principal_is_sns(statement.get("Principal")):
        return False
    resources = _as_list(statement.get("Resource"))
    if resources and not any(arn_like(str(resource), queue_arn) for resource in resources):
        return False
    return _condition_holds(statement.get("Condition"), source_arn)


def sns_may_send(policy: str | None, queue_arn: str, source_arn: str) -> bool:
    """Whether the queue policy lets the SNS topic ``source_arn`` send to the queue (no policy: it may not; an
    applying ``Deny`` wins over any ``Allow``)."""
    if not policy:
        return False
    try:
        document = json.loads(policy)
    except ValueError:
        return False
    if not isinstance(document, Mapping):
        return False
    allowed = False
    for statement in _as_list(document.get("Statement")):
        if not isinstance(statement, Mapping) or not _applies(statement, queue_arn, source_arn):
            continue
        if statement.get("Effect") == "Deny":
            return False
        allowed = allowed or statement.get("Effect") == "Allow"
    return allowed
