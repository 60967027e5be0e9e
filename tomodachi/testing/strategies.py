"""Hypothesis strategies for property tests of tomodachi services: message attributes, SNS filter policies,
JsonBase envelopes (valid and malformed), message delivery orders and fault plans."""

from __future__ import annotations

import functools
from typing import Any, TypeAlias

from hypothesis import strategies as st

from tomodachi.testing.envelope_strategies import json_envelopes, json_values, malformed_json_envelopes
from tomodachi.testing.fault_strategies import fault_plans, faults

__all__ = [
    "AttributeValue",
    "FilterPolicyDict",
    "MessageAttributes",
    "attribute_names",
    "delivery_orders",
    "fault_plans",
    "faults",
    "filter_policies",
    "filter_policies_with_matching_attributes",
    "filter_policies_with_non_matching_attributes",
    "json_envelopes",
    "json_values",
    "malformed_json_envelopes",
    "message_attributes",
]

Scalar: TypeAlias = str | int | float
AttributeValue: TypeAlias = str | int | float | list[str | int | float]
MessageAttributes: TypeAlias = dict[str, AttributeValue]
FilterPolicyDict: TypeAlias = dict[str, list[Any]]
PolicyPair: TypeAlias = tuple[FilterPolicyDict, MessageAttributes]

# AWS: at most 10 message attributes on a message, at most 5 attribute names in a filter policy
MAX_ATTRIBUTES = 10
MAX_POLICY_KEYS = 5
NAME_CHARACTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
RESERVED_NAME_PREFIXES = ("aws.", "amazon.")
# policy numbers are whole hundredths within ±1e6: SNS compares them with 5 decimals of accuracy within ±1e9,
# and hundredths compare exactly as floats, so being inside or outside a range never depends on rounding
_GRID = 10**8
_OPERATORS = ("=", "<", "<=", ">", ">=")


class _Absent:
    """The attribute is not on the message (what ``{"exists": false}`` asks for)."""


_ABSENT = _Absent()
_Witness: TypeAlias = AttributeValue | _Absent


# ---- message attributes ---------------------------------------------------------------------------------------


def attribute_names() -> st.SearchStrategy[str]:
    """Attribute names SNS and SQS accept: 1-256 of ``A-Z a-z 0-9 _ - .``, no ``..``, no leading or trailing
    ``.``, not starting with ``AWS.`` or ``Amazon.`` in any casing."""
    return _attribute_names()


# strategies built once: hypothesis validates every new strategy object, which dominates building pairs
@functools.cache
def _attribute_names() -> st.SearchStrategy[str]:
    segment = st.text(alphabet=NAME_CHARACTERS, min_size=1, max_size=12)
    dotted = st.lists(segment, min_size=1, max_size=4).map(".".join)
    # short dotted names never come near the 256-character limit
    long = st.builds(lambda char, size: char * size, st.sampled_from(NAME_CHARACTERS), st.integers(200, 256))
    return st.one_of(dotted, long).filter(lambda name: not name.lower().startswith(RESERVED_NAME_PREFIXES))


@functools.cache
def _strings(min_size: int = 1) -> st.SearchStrategy[str]:
    # SQS takes only XML characters in attribute values (no controls, surrogates, U+FFFE/U+FFFF), never ""
    return st.text(st.characters(exclude_categories=("Cc", "Cs", "Cn")), min_size=min_size, max_size=12)


@functools.cache
def _grid() -> st.SearchStrategy[int]:
    return st.integers(-_GRID, _GRID)


def _number(hundredths: int) -> int | float:
    """A grid point as JSON carries it: an int when whole, else a float with at most two decimals."""
    return hundredths // 100 if hundredths % 100 == 0 else hundredths / 100


def _hundredths(number: float) -> int:
    return round(number * 100)


@functools.cache
def _numbers() -> st.SearchStrategy[int | float]:
    # SNS Number attributes hold up to 38 significant digits within 10^-128..10^126: stay well inside
    floats = st.floats(-1e15, 1e15, allow_nan=False, allow_infinity=False).filter(lambda x: x == 0 or abs(x) >= 1e-100)
    return st.one_of(st.integers(-(10**12), 10**12), _grid().map(_number), floats)


@functools.cache
def _attribute_values() -> st.SearchStrategy[AttributeValue]:
    scalars: st.SearchStrategy[Scalar] = st.one_of(_strings(), _numbers())
    return st.one_of(scalars, st.lists(scalars, min_size=1, max_size=5))


def message_attributes(max_size: int = MAX_ATTRIBUTES) -> st.SearchStrategy[MessageAttributes]:
    """``message_attributes={...}`` dicts as services pass them when publishing.

    Values are non-empty strings (sent as ``String``), ints and floats (``Number``), or non-empty lists of
    those (``String.Array``); names follow the AWS naming rules (:func:`attribute_names`). At most ``max_size``
    attributes (SNS and SQS allow 10).
    """
    return st.dictionaries(_attribute_names(), _attribute_values(), max_size=max_size)


# ---- filter policies ------------------------------------------------------------------------------------------


@functools.cache
def _numeric_conditions() -> st.SearchStrategy[dict[str, Any]]:
    one_sided = st.builds(lambda op, n: {"numeric": [op, _number(n)]}, st.sampled_from(_OPERATORS), _grid())
    two_sided = st.builds(
        lambda lower, low, width, upper: {"numeric": [lower, _number(low), upper, _number(low + width)]},
        st.sampled_from((">", ">=")),
        _grid(),
        st.integers(2, _GRID),  # a width of 0.02 or more keeps a grid point strictly inside
        st.sampled_from(("<", "<=")),
    )
    return st.one_of(one_sided, two_sided)


@functools.cache
def _anything_but_conditions() -> st.SearchStrategy[dict[str, Any]]:
    numbers = _grid().map(_number)
    operand = st.one_of(
        _strings(),
        numbers,
        st.lists(_strings(), min_size=1, max_size=3, unique=True),
        st.lists(numbers, min_size=1, max_size=3, unique=True),
        _strings().map(lambda prefix: {"prefix": prefix}),
    )
    return operand.map(lambda value: {"anything-but": value})


@functools.cache
def _conditions() -> st.SearchStrategy[Any]:
    return st.one_of(
        _strings(),
        _grid().map(_number),
        _strings().map(lambda prefix: {"prefix": prefix}),
        _anything_but_conditions(),
        _numeric_conditions(),
        # two branches: one would leave absent attributes rare in the pairs built from these conditions
        st.just({"exists": True}),
        st.just({"exists": False}),
    )


@functools.cache
def _condition_lists(keys: int, conditions: st.SearchStrategy[Any]) -> st.SearchStrategy[list[Any]]:
    # SNS refuses policies whose value lists multiply to more than 150 combinations: 3^4 and 2^5 stay below
    return st.lists(conditions, min_size=1, max_size=3 if keys < MAX_POLICY_KEYS else 2)


def _policy_names(draw: st.DrawFn) -> list[str]:
    return draw(_policy_name_lists())


@functools.cache
def _policy_name_lists() -> st.SearchStrategy[list[str]]:
    return st.lists(_attribute_names(), min_size=1, max_size=MAX_POLICY_KEYS, unique=True)


@st.composite
def _policies(draw: st.DrawFn) -> FilterPolicyDict:
    names = _policy_names(draw)
    return {name: draw(_condition_lists(len(names), _conditions())) for name in names}


def filter_policies() -> st.SearchStrategy[FilterPolicyDict]:
    """Attribute-scoped SNS filter policies (``FilterPolicyScope: MessageAttributes``) that SNS accepts.

    1-5 attribute names (AND-ed), each with a list of 1-3 conditions (OR-ed): exact strings and numbers,
    ``{"prefix": s}``, ``{"anything-but": v | [v, ...] | {"prefix": s}}``, ``{"numeric": [op, n]}`` with
    ``=``, ``<``, ``<=``, ``>``, ``>=`` or a two-sided range, and ``{"exists": true | false}``; at most 150
    value combinations. Use one as a subscription's ``FilterPolicy`` (``json.dumps`` it) or in ``FilterPolicy``.
    """
    return _policies()


def _not_in(text: str, excluded: list[str]) -> str:
    """``text``, or a string longer than every (non-empty) excluded one."""
    return text if text not in excluded else text + "".join(excluded)


def _not_starting_with(text: str, prefix: str) -> str:
    return text if not text.startswith(prefix) else ("b" if prefix[0] == "a" else "a") + text


@st.composite
def _inside(draw: st.DrawFn, numeric: list[Any]) -> int | float:
    """A number a ``numeric`` condition matches."""
    bounds = [_hundredths(n) for n in numeric[1::2]]
    # the extremes (on an inclusive bound, one hundredth inside an exclusive one) come up often
    if len(numeric) == 2:
        step = draw(st.one_of(st.just(1), st.integers(1, 10**6)))
        n = bounds[0]
        return _number({"=": n, "<": n - step, "<=": n - step + 1, ">": n + step, ">=": n + step - 1}[numeric[0]])
    low = bounds[0] if numeric[0] == ">=" else bounds[0] + 1
    high = bounds[1] if numeric[2] == "<=" else bounds[1] - 1
    return _number(draw(st.one_of(st.sampled_from((low, high)), st.integers(low, high))))


@st.composite
def _satisfying(draw: st.DrawFn, condition: Any) -> _Witness:
    """An attribute value (or the absence of one) that ``condition`` matches, built from the condition."""
    if isinstance(condition, dict) and "exists" in condition:
        return draw(_attribute_values()) if condition["exists"] else _ABSENT
    as_array = draw(st.booleans())
    if isinstance(condition, dict) and "anything-but" in condition:
        # an array satisfies anything-but here only when none of its elements is excluded: AWS documents both
        # "an element is not excluded" and "no element is excluded" for arrays, these arrays satisfy both
        operand = condition["anything-but"]
        drawn = draw(st.lists(_strings(), min_size=1, max_size=3 if as_array else 1))
        values: list[Scalar]
        if isinstance(operand, dict):
            values = [_not_starting_with(text, operand["prefix"]) for text in drawn]
        elif isinstance(operand, str) or (isinstance(operand, list) and isinstance(operand[0], str)):
            values = [_not_in(text, operand if isinstance(operand, list) else [operand]) for text in drawn]
        else:
            excluded = {_hundredths(n) for n in (operand if isinstance(operand, list) else [operand])}
            points = draw(st.lists(_grid(), min_size=len(drawn), max_size=len(drawn)))
            values = [_number(p if p not in excluded else max(excluded) + 100) for p in points]
        return values if as_array else values[0]
    value: Scalar
    noise: st.SearchStrategy[Scalar]
    if isinstance(condition, str):
        value, noise = condition, _strings()
    elif isinstance(condition, dict) and "prefix" in condition:
        value, noise = condition["prefix"] + draw(_strings(min_size=0)), _strings()
    elif isinstance(condition, dict) and "numeric" in condition:
        value, noise = draw(_inside(condition["numeric"])), _numbers()
    else:
        value, noise = condition, _numbers()
    if not as_array:
        return value
    # a String.Array matches an exact, prefix or numeric condition when any element does
    before = draw(st.lists(noise, max_size=2))
    return [*before, value, *draw(st.lists(noise, min_size=0 if before else 1, max_size=2))]


def _matching_value(draw: st.DrawFn, conditions: list[Any]) -> _Witness:
    return draw(_satisfying(conditions[draw(st.integers(0, len(conditions) - 1))]))


def _common_prefix(texts: list[str]) -> str:
    first, last = min(texts), max(texts)
    size = 0
    while size < min(len(first), len(last)) and first[size] == last[size]:
        size += 1
    return first[:size]


def _rejecting_string_conditions(texts: list[str]) -> st.SearchStrategy[Any]:
    longest = max(texts, key=len)
    options: list[st.SearchStrategy[Any]] = [
        st.just({"exists": False}),
        _strings().map(lambda text: _not_in(text, texts)),
        # a prefix longer than every element is a prefix of none of them
        _strings().map(lambda p: {"prefix": p if not any(t.startswith(p) for t in texts) else longest + p}),
        st.lists(_strings(), max_size=2).map(lambda extra: {"anything-but": sorted({*texts, *extra})}),
    ]
    common = _common_prefix(texts)
    if common:  # every element starts with it, so anything-but prefix excludes the array under either reading
        options.append(st.integers(1, len(common)).map(lambda n: {"anything-but": {"prefix": common[:n]}}))
    return st.one_of(options)


def _rejecting_numeric_conditions(numbers: list[int | float]) -> st.SearchStrategy[Any]:
    points = [_hundredths(n) for n in numbers]
    low, high = min(points), max(points)
    # the boundaries themselves (a bound equal to the value, or one hundredth away) come up often
    step = st.one_of(st.just(0), st.integers(0, 10**6))
    gap = st.one_of(st.just(1), st.integers(1, 10**6))
    one_sided = st.one_of(
        gap.map(lambda d: {"numeric": ["=", _number(high + d)]}),
        step.map(lambda d: {"numeric": ["<", _number(low - d)]}),
        gap.map(lambda d: {"numeric": ["<=", _number(low - d)]}),
        step.map(lambda d: {"numeric": [">", _number(high + d)]}),
        gap.map(lambda d: {"numeric": [">=", _number(high + d)]}),
    )
    two_sided = st.one_of(
        st.builds(  # a range wholly below every element
            lambda upper, d, w: {"numeric": [">", _number(low - d - w), upper, _number(low - d)]},
            st.sampled_from(("<", "<=")),
            gap,
            gap,
        ),
        st.builds(  # a range wholly above every element
            lambda lower, d, w: {"numeric": [lower, _number(high + d), "<", _number(high + d + w)]},
            st.sampled_from((">", ">=")),
            gap,
            gap,
        ),
    )
    return st.one_of(
        st.just({"exists": False}),
        _grid().map(lambda p: _number(p if p not in points else high + 100)),
        st.lists(_grid(), max_size=2).map(lambda extra: {"anything-but": [*numbers, *map(_number, extra)]}),
        one_sided,
        two_sided,
    )


def _rejecting_conditions(witness: _Witness) -> st.SearchStrategy[Any]:
    """Conditions that reject ``witness`` (every element of it, for an array), by construction."""
    if isinstance(witness, _Absent):  # an absent attribute matches nothing but {"exists": false}
        return st.one_of(st.just({"exists": True}), _conditions().filter(lambda c: c != {"exists": False}))
    elements = witness if isinstance(witness, list) else [witness]
    texts = [e for e in elements if isinstance(e, str)]
    if texts:
        return _rejecting_string_conditions(texts)
    return _rejecting_numeric_conditions([e for e in elements if not isinstance(e, str)])


@functools.cache
def _witnesses() -> st.SearchStrategy[_Witness]:
    numbers = _grid().map(_number)
    return st.one_of(
        st.just(_ABSENT),
        _strings(),
        numbers,
        st.lists(_strings(), min_size=1, max_size=3),
        st.lists(numbers, min_size=1, max_size=3),
    )


def _add_unrelated(draw: st.DrawFn, attributes: MessageAttributes, policy: FilterPolicyDict, at_least: int) -> None:
    """Attributes the policy does not name, which SNS ignores."""
    for _ in range(draw(st.integers(at_least, 3))):
        name, counter = draw(_attribute_names()), 0
        while name in policy or name in attributes:  # cheaper than a filter built anew for every draw
            name, counter = f"unrelated-{counter}", counter + 1
        attributes[name] = draw(_attribute_values())


@st.composite
def _matching_pairs(draw: st.DrawFn) -> PolicyPair:
    policy = draw(_policies())
    attributes: MessageAttributes = {}
    for name, conditions in policy.items():
        value = _matching_value(draw, conditions)
        if not isinstance(value, _Absent):
            attributes[name] = value
    # SNS documents that a message without attributes matches no policy, not even {"exists": false}
    _add_unrelated(draw, attributes, policy, at_least=0 if attributes else 1)
    return policy, attributes


@st.composite
def _non_matching_pairs(draw: st.DrawFn) -> PolicyPair:
    names = _policy_names(draw)
    victim = draw(st.sampled_from(names))
    policy: FilterPolicyDict = {}
    attributes: MessageAttributes = {}
    for name in names:
        value: _Witness
        if name == victim:  # every condition of this key rejects its value: the AND fails on this key
            value = draw(_witnesses())
            policy[name] = draw(_condition_lists(len(names), _rejecting_conditions(value)))
        else:  # every other key matches, so the victim key is the only reason
            policy[name] = draw(_condition_lists(len(names), _conditions()))
            value = _matching_value(draw, policy[name])
        if not isinstance(value, _Absent):
            attributes[name] = value
    _add_unrelated(draw, attributes, policy, at_least=0)
    return policy, attributes


def filter_policies_with_matching_attributes() -> st.SearchStrategy[PolicyPair]:
    """``(policy, message_attributes)`` pairs that SNS delivers, the attributes built from the policy.

    For every key one of its conditions is picked and a value satisfying it is constructed (picking
    ``{"exists": false}`` leaves the attribute out); unrelated attributes may be added, and there is always at
    least one attribute (SNS matches no policy against a message without any). Attributes are in the
    ``message_attributes=`` form: ``tomodachi.messaging.sns_sqs.attributes.encode`` gives the wire form.
    """
    return _matching_pairs()


def filter_policies_with_non_matching_attributes() -> st.SearchStrategy[PolicyPair]:
    """``(policy, message_attributes)`` pairs that SNS does not deliver, by construction.

    One key's value (or its absence) is chosen first and that key gets only conditions rejecting it: a missing
    attribute against anything but ``{"exists": false}``, a present one against ``{"exists": false}``, other
    exact values, prefixes it lacks, ``anything-but`` lists containing it, numeric conditions it lies outside
    of. Every other key gets a matching value, so that one key is the only reason the message is filtered out.
    """
    return _non_matching_pairs()


# ---- delivery orders ------------------------------------------------------------------------------------------


def delivery_orders(n: int) -> st.SearchStrategy[list[int]]:
    """Orders in which a reordering bus may deliver ``n`` messages: permutations of ``range(n)`` (index ``i``
    is the ``i``-th message published), shrinking towards publish order."""
    if n < 0:
        raise ValueError(f"delivery_orders(n) needs n >= 0, got {n}")
    return st.permutations(list(range(n)))
