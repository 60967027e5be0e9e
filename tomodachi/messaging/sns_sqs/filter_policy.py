"""AWS SNS subscription filter policies (MessageAttributes scope), validated and evaluated like SNS does.

Supported: exact string / number matching, ``prefix``, ``suffix``, ``equals-ignore-case``, ``anything-but``
(values, ``prefix``, ``suffix``, ``equals-ignore-case``), ``numeric`` (``=`` or a range such as
``[">", 0, "<=", 5]``), ``exists``, ``cidr``, and ``"$or": [policy, …]``. Keys are AND-ed, the conditions in
one key's list are OR-ed. An attribute that is absent matches only ``{"exists": false}``. String.Array
attributes match when any element matches. Binary attributes never match (SNS ignores them).
"""

from __future__ import annotations

import ipaddress
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

MAX_COMBINATIONS = 150
NUMERIC_LIMIT = 1_000_000_000
LOWER_OPERATORS = (">", ">=")
UPPER_OPERATORS = ("<", "<=")

Condition = Callable[["_Attribute | None"], bool]


class FilterPolicyError(ValueError):
    """A filter policy that SNS would reject (``InvalidParameter``)."""


@dataclass(frozen=True)
class _Attribute:
    strings: tuple[str, ...]
    numbers: tuple[float, ...]
    booleans: tuple[bool, ...]


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _attribute(item: Any) -> _Attribute | None:
    """A message attribute (botocore or notification form) → the values a filter compares against."""
    if not isinstance(item, Mapping):
        return None
    data_type = str(item.get("DataType", item.get("Type", "String")))
    raw = item.get("StringValue", item.get("Value"))
    base_type = data_type.split(".", 1)[0]
    if data_type == "String.Array":
        try:
            parsed = json.loads(raw) if isinstance(raw, str) else raw
        except ValueError:
            return _Attribute((), (), ())
        elements = parsed if isinstance(parsed, list) else [parsed]
        return _Attribute(
            tuple(e for e in elements if isinstance(e, str)),
            tuple(float(e) for e in elements if _is_number(e)),
            tuple(e for e in elements if isinstance(e, bool)),
        )
    if base_type == "Number":
        try:
            return _Attribute((), (float(str(raw)),), ())
        except ValueError:
            return _Attribute((), (), ())
    if base_type == "String" and isinstance(raw, str):
        return _Attribute((raw,), (), ())
    return _Attribute((), (), ())


def _number(value: Any, where: str) -> float:
    if not _is_number(value):
        raise FilterPolicyError(f"{where}: expected a number, got {value!r}")
    if abs(value) > NUMERIC_LIMIT:
        raise FilterPolicyError(f"{where}: numbers must be between -{NUMERIC_LIMIT} and {NUMERIC_LIMIT}")
    return float(value)


def _string(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise FilterPolicyError(f"{where}: expected a string, got {value!r}")
    return value


def _numeric(spec: Any, where: str) -> Callable[[float], bool]:
    if not isinstance(spec, list) or len(spec) not in (2, 4):
        raise FilterPolicyError(f"{where}: 'numeric' needs [op, n] or [lower-op, n, upper-op, n]")
    ops: dict[str, Callable[[float, float], bool]] = {
        "=": lambda a, b: a == b,
        "<": lambda a, b: a < b,
        "<=": lambda a, b: a <= b,
        ">": lambda a, b: a > b,
        ">=": lambda a, b: a >= b,
    }
    first, first_value = spec[0], _number(spec[1], where)
    if first not in ops:
        raise FilterPolicyError(f"{where}: unknown numeric operator {first!r}")
    if len(spec) == 2:
        compare = ops[first]
        return lambda n: compare(n, first_value)
    second, second_value = spec[2], _number(spec[3], where)
    if first not in LOWER_OPERATORS or second not in UPPER_OPERATORS:
        raise FilterPolicyError(f"{where}: a numeric range is a lower bound (> or >=) then an upper bound (< or <=)")
    if first_value >= second_value:
        raise FilterPolicyError(f"{where}: numeric range lower bound must be less than the upper bound")
    lower, upper = ops[first], ops[second]
    return lambda n: lower(n, first_value) and upper(n, second_value)


def _cidr(spec: Any, where: str) -> Callable[[str], bool]:
    try:
        network = ipaddress.ip_network(_string(spec, where), strict=False)
    except ValueError as exc:
        raise FilterPolicyError(f"{where}: invalid cidr {spec!r}") from exc

    def match(text: str) -> bool:
        try:
            return ipaddress.ip_address(text) in network
        except ValueError:
            return False

    return match


def _anything_but(spec: Any, where: str) -> Condition:
    if isinstance(spec, Mapping):
        if len(spec) != 1:
            raise FilterPolicyError(f"{where}: 'anything-but' takes one of prefix, suffix, equals-ignore-case")
        ((operator, operand),) = spec.items()
        texts = [_string(v, where) for v in (operand if isinstance(operand, list) else [operand])]
        if operator == "prefix":
            return lambda a: a is not None and any(not any(s.startswith(t) for t in texts) for s in a.strings)
        if operator == "suffix":
            return lambda a: a is not None and any(not any(s.endswith(t) for t in texts) for s in a.strings)
        if operator == "equals-ignore-case":
            folded = {t.casefold() for t in texts}
            return lambda a: a is not None and any(s.casefold() not in folded for s in a.strings)
        raise FilterPolicyError(f"{where}: unsupported 'anything-but' operator {operator!r}")
    values = spec if isinstance(spec, list) else [spec]
    if not values:
        raise FilterPolicyError(f"{where}: 'anything-but' needs at least one value")
    strings = {v for v in values if isinstance(v, str)}
    numbers = {_number(v, where) for v in values if not isinstance(v, str)}

    def match(a: _Attribute | None) -> bool:
        if a is None:
            return False
        return any(s not in strings for s in a.strings) or any(n not in numbers for n in a.numbers)

    return match


def _condition(item: Any, where: str) -> Condition:
    if isinstance(item, str):
        return lambda a: a is not None and item in a.strings
    if isinstance(item, bool):
        return lambda a: a is not None and item in a.booleans
    if _is_number(item):
        value = _number(item, where)
        return lambda a: a is not None and value in a.numbers
    if item is None:
        raise FilterPolicyError(f"{where}: null is only supported by MessageBody-scoped filter policies")
    if not isinstance(item, Mapping) or len(item) != 1:
        raise FilterPolicyError(f"{where}: each condition is a value or an object with exactly one operator")
    ((operator, operand),) = item.items()
    if operator == "prefix":
        text = _string(operand, where)
        return lambda a: a is not None and any(s.startswith(text) for s in a.strings)
    if operator == "suffix":
        text = _string(operand, where)
        return lambda a: a is not None and any(s.endswith(text) for s in a.strings)
    if operator == "equals-ignore-case":
        folded = _string(operand, where).casefold()
        return lambda a: a is not None and any(s.casefold() == folded for s in a.strings)
    if operator == "anything-but":
        return _anything_but(operand, where)
    if operator == "numeric":
        compare = _numeric(operand, where)
        return lambda a: a is not None and any(compare(n) for n in a.numbers)
    if operator == "exists":
        if not isinstance(operand, bool):
            raise FilterPolicyError(f"{where}: 'exists' takes true or false")
        return lambda a: (a is not None) is operand
    if operator == "cidr":
        within = _cidr(operand, where)
        return lambda a: a is not None and any(within(s) for s in a.strings)
    raise FilterPolicyError(f"{where}: unsupported operator {operator!r}")


@dataclass(frozen=True)
class _Policy:
    keys: tuple[tuple[str, tuple[Condition, ...]], ...]
    alternatives: tuple[tuple[_Policy, ...], ...]  # each "$or" list: at least one sub-policy must match
    combinations: int

    def matches(self, attributes: Mapping[str, _Attribute]) -> bool:
        for name, conditions in self.keys:
            attribute = attributes.get(name)
            if not any(condition(attribute) for condition in conditions):
                return False
        return all(any(p.matches(attributes) for p in options) for options in self.alternatives)


def _compile(policy: Any, where: str) -> _Policy:
    if not isinstance(policy, Mapping) or not policy:
        raise FilterPolicyError(f"{where}: a filter policy is a non-empty JSON object")
    keys: list[tuple[str, tuple[Condition, ...]]] = []
    alternatives: list[tuple[_Policy, ...]] = []
    combinations = 1
    for name, value in policy.items():
        if name == "$or":
            if not isinstance(value, list) or len(value) < 2:
                raise FilterPolicyError(f"{where}: '$or' takes a list of at least two policies")
            options = tuple(_compile(option, f"{where}.$or[{i}]") for i, option in enumerate(value))
            alternatives.append(options)
            combinations *= sum(option.combinations for option in options)
            continue
        key_where = f"{where}.{name}"
        if isinstance(value, Mapping):
            raise FilterPolicyError(f"{key_where}: nested keys are only supported by MessageBody-scoped policies")
        if not isinstance(value, list) or not value:
            raise FilterPolicyError(f"{key_where}: the value of a filter policy key must be a non-empty list")
        keys.append((str(name), tuple(_condition(item, key_where) for item in value)))
        combinations *= len(value)
    return _Policy(tuple(keys), tuple(alternatives), combinations)


class FilterPolicy:
    """A validated filter policy; ``matches(message_attributes)`` decides whether SNS delivers a message."""

    def __init__(self, policy: Mapping[str, Any] | str) -> None:
        if isinstance(policy, str):
            try:
                policy = json.loads(policy)
            except ValueError as exc:
                raise FilterPolicyError(f"filter policy is not valid JSON: {exc}") from exc
        self.policy: Any = policy
        self._compiled = _compile(policy, "FilterPolicy")
        if self._compiled.combinations > MAX_COMBINATIONS:
            raise FilterPolicyError(
                f"FilterPolicy: {self._compiled.combinations} combinations of values; SNS allows {MAX_COMBINATIONS}"
            )

    def matches(self, message_attributes: Mapping[str, Any] | None) -> bool:
        attributes = {
            name: attribute
            for name, item in (message_attributes or {}).items()
            if (attribute := _attribute(item)) is not None
        }
        if not attributes:  # SNS delivers a message without attributes to no subscription that has a policy
            return False
        return self._compiled.matches(attributes)

    def __repr__(self) -> str:
        return f"FilterPolicy({json.dumps(self.policy)})"


def validate(policy: Mapping[str, Any] | str | None) -> None:
    """Raise :class:`FilterPolicyError` for a policy SNS would refuse; ``None`` / ``{}`` mean "no policy"."""
    if policy is None or policy == {} or policy == "" or policy == "{}":
        return
    FilterPolicy(policy)


def matches(policy: Mapping[str, Any] | str | None, message_attributes: Mapping[str, Any] | None) -> bool:
    """Whether a message with ``message_attributes`` passes ``policy`` (no policy passes everything)."""
    if policy is None or policy == {} or policy == "" or policy == "{}":
        return True
    return FilterPolicy(policy).matches(message_attributes)
