"""Message attribute codec: Python values ⇄ SNS/SQS ``MessageAttributes`` structures."""

from __future__ import annotations

import base64
import binascii
import decimal
import json
from collections.abc import Mapping
from typing import Any

AttributeValue = dict[str, Any]


def encode_value(value: Any) -> AttributeValue:
    """One value → ``{"DataType": …, "StringValue"|"BinaryValue": …}`` (botocore's request form)."""
    # bool first: it is an int subclass but travels as JSON, like None
    if value is None or isinstance(value, bool):
        return {"DataType": "String.Array", "StringValue": json.dumps(value)}
    if isinstance(value, str):
        return {"DataType": "String", "StringValue": value}
    if isinstance(value, (int, float, decimal.Decimal)):
        return {"DataType": "Number", "StringValue": str(value)}
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"DataType": "Binary", "BinaryValue": bytes(value)}
    if isinstance(value, list):
        return {"DataType": "String.Array", "StringValue": json.dumps(value)}
    return {"DataType": "String", "StringValue": str(value)}


def encode(message_attributes: Mapping[str, Any] | None) -> dict[str, AttributeValue]:
    """``{"name": value}`` → botocore ``MessageAttributes``."""
    if not message_attributes:
        return {}
    return {str(name): encode_value(value) for name, value in message_attributes.items()}


def to_notification_form(attributes: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, str]]:
    """botocore form → the ``{"Type", "Value"}`` form SNS puts in a notification body (binary as base64)."""
    result: dict[str, dict[str, str]] = {}
    for name, item in attributes.items():
        data_type = str(item.get("DataType", "String"))
        if "BinaryValue" in item:
            raw = item["BinaryValue"]
            value = base64.b64encode(raw).decode("ascii") if isinstance(raw, (bytes, bytearray)) else str(raw)
        else:
            value = str(item.get("StringValue", ""))
        result[name] = {"Type": data_type, "Value": value}
    return result


def _first(item: Mapping[str, Any], *keys: str) -> tuple[bool, Any]:
    for key in keys:
        if key in item:
            return True, item[key]
    return False, None


def _number(text: Any) -> int | float:
    text = str(text)
    if "." not in text:
        try:
            return int(text)
        except ValueError:
            pass
    return float(text)


def decode_value(item: Mapping[str, Any]) -> tuple[bool, Any]:
    """One attribute structure → ``(ok, value)``; ``ok`` is False when type or value is missing."""
    has_type, data_type = _first(item, "DataType", "Type", "dataType", "type")
    has_value, value = _first(item, "StringValue", "BinaryValue", "Value", "stringValue", "binaryValue", "value")
    if not has_type or not has_value:
        return False, None
    data_type = str(data_type)
    # SQS does not check custom data types: a malformed value from a foreign sender falls back to the raw
    # string, so the message is still handled rather than failing in decoding (and being dead-lettered)
    if data_type == "String.Array":
        try:
            return True, json.loads(value)
        except (TypeError, ValueError):
            return True, value
    base_type = data_type.split(".", 1)[0]  # custom suffixes such as "Number.int" keep their base type
    if base_type == "Number":
        try:
            return True, _number(value)
        except (TypeError, ValueError):
            return True, value
    if base_type == "Binary":
        if isinstance(value, str):
            try:
                return True, base64.b64decode(value, validate=True)
            except binascii.Error:
                return True, value.encode("utf-8")
        return True, bytes(value)
    return True, value


def decode(message_attributes: Mapping[str, Any] | None) -> dict[str, Any]:
    """SQS (``DataType``/``StringValue``/``BinaryValue``), SNS-body (``Type``/``Value``) or camelCase forms → values."""
    result: dict[str, Any] = {}
    for name, item in (message_attributes or {}).items():
        if not isinstance(item, Mapping):
            continue
        ok, value = decode_value(item)
        if ok:
            result[name] = value
    return result
