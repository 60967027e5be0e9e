"""What SNS Publish and SQS SendMessage refuse in a message, for the in-memory AWS: attribute names, types and
values, and sizes. Each refusal is the :class:`AwsApiError` AWS answers, with its code:

- SNS: an invalid attribute → ``ParameterValueInvalid`` (botocore's ``InvalidParameterValueException``); a message
  over 262,144 bytes → ``InvalidParameter`` "Invalid parameter: Message too long".
- SQS: an invalid attribute or a message over the queue's ``MaximumMessageSize`` (1,048,576 bytes unless set) →
  ``InvalidParameterValue``.

A size is the UTF-8 bytes of the body plus, for each attribute, those of its name, data type and value (AWS counts
every part of an attribute). What SNS delivers to a subscribed queue is not checked again: SQS takes every
notification of a message SNS accepted.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from tomodachi.messaging.sns_sqs.client import (
    INVALID_PARAMETER,
    INVALID_PARAMETER_VALUE,
    PARAMETER_VALUE_INVALID,
    AwsApiError,
)

SNS_MAX_MESSAGE_BYTES = 256 * 1024  # 262,144
SQS_MAX_MESSAGE_BYTES = 1024 * 1024  # 1,048,576: SQS's MaximumMessageSize default (and maximum)
MAX_ATTRIBUTE_NAME_LENGTH = 256
MAX_ATTRIBUTE_TYPE_LENGTH = 256
ATTRIBUTE_TYPES = ("String", "Number", "Binary")  # a type is one of these, or one with a custom ".label"
_NAME_CHARACTERS = re.compile(r"[A-Za-z0-9_.\-]+")
_RESERVED_PREFIXES = ("aws.", "amazon.")


def _utf8_size(value: Any) -> int:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return len(bytes(value))
    return len(str(value).encode("utf-8", "surrogatepass"))


def message_size(body: str, attributes: Mapping[str, Any] | None) -> int:
    """The bytes AWS counts against a message's size limit: the body, and each attribute's name, type and value."""
    size = _utf8_size(body)
    for name, item in (attributes or {}).items():
        size += _utf8_size(name)
        if isinstance(item, Mapping):
            size += sum(_utf8_size(item[key]) for key in ("DataType", "StringValue", "BinaryValue") if key in item)
    return size


def attribute_name_problem(name: str) -> str | None:
    """Why SNS and SQS refuse ``name`` as a message attribute name (``None``: they take it).

    A name is 1 to 256 of ``A-Z a-z 0-9 _ - .``, neither starts nor ends with a period nor has two in a row, and does
    not start with ``AWS.`` or ``Amazon.`` (in any case)."""
    if not name:
        return "The request must contain non-empty message (user) attribute names."
    if len(name) > MAX_ATTRIBUTE_NAME_LENGTH:
        return f"Message (user) attribute name '{name[:32]}...' is longer than {MAX_ATTRIBUTE_NAME_LENGTH} characters."
    if not _NAME_CHARACTERS.fullmatch(name):
        return (
            f"The message attribute name '{name}' is invalid. Attribute name can contain A-Z, a-z, 0-9, underscore "
            "(_), hyphen (-), and period (.) characters."
        )
    if name.lower().startswith(_RESERVED_PREFIXES):
        return (
            f"The message attribute name '{name}' is invalid. Names beginning with 'AWS.' or 'Amazon.' are reserved "
            "for internal use."
        )
    if name.startswith(".") or name.endswith(".") or ".." in name:
        return (
            f"The message attribute name '{name}' is invalid. A name cannot start or end with a period (.) or have "
            "successive periods."
        )
    return None


def _attribute_problem(name: str, item: Any, *, sns: bool) -> str | None:
    problem = attribute_name_problem(name)
    if problem is not None:
        return problem
    data_type = item.get("DataType") if isinstance(item, Mapping) else None
    if not isinstance(item, Mapping) or not isinstance(data_type, str) or not data_type:
        return f"The message attribute '{name}' must contain non-empty message attribute type."
    if data_type.split(".", 1)[0] not in ATTRIBUTE_TYPES or len(data_type) > MAX_ATTRIBUTE_TYPE_LENGTH:
        return (
            f"The message attribute '{name}' has an invalid message attribute type, the set of supported type "
            "prefixes is Binary, Number, and String."
        )
    field = "BinaryValue" if data_type.startswith("Binary") else "StringValue"
    value = item.get(field)
    if value is None or _utf8_size(value) == 0:
        if sns:
            return (
                f"The message attribute '{name}' must contain non-empty message attribute value for message "
                f"attribute type '{data_type}'."
            )
        return f"Message (user) attribute '{name}' must contain a non-empty value of type '{data_type}'."
    return None


def check_sns_message(message: str, attributes: Mapping[str, Any] | None) -> None:
    """Raise what SNS Publish answers ``message`` with ``attributes`` (botocore form), if it refuses them."""
    for name, item in (attributes or {}).items():
        problem = _attribute_problem(name, item, sns=True)
        if problem is not None:
            raise AwsApiError(PARAMETER_VALUE_INVALID, problem)
    if message_size(message, attributes) > SNS_MAX_MESSAGE_BYTES:
        raise AwsApiError(INVALID_PARAMETER, "Invalid parameter: Message too long")


def check_sqs_message(body: str, attributes: Mapping[str, Any] | None, maximum_size: int) -> None:
    """Raise what SQS SendMessage answers ``body`` with ``attributes`` (botocore form) on a queue taking messages of
    up to ``maximum_size`` bytes, if it refuses them."""
    for name, item in (attributes or {}).items():
        problem = _attribute_problem(name, item, sns=False)
        if problem is not None:
            raise AwsApiError(INVALID_PARAMETER_VALUE, problem)
    if message_size(body, attributes) > maximum_size:
        raise AwsApiError(
            INVALID_PARAMETER_VALUE,
            f"One or more parameters are invalid. Reason: Message must be shorter than {maximum_size} bytes.",
        )


def queue_maximum_size(attributes: Mapping[str, str]) -> int:
    """A queue's ``MaximumMessageSize`` attribute (SQS's default when unset or unreadable)."""
    try:
        return int(attributes.get("MaximumMessageSize", SQS_MAX_MESSAGE_BYTES))
    except (TypeError, ValueError):
        return SQS_MAX_MESSAGE_BYTES
