"""SNS filter-policy semantics against message attributes, and rejection of invalid policies."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tomodachi.messaging.sns_sqs import attributes
from tomodachi.messaging.sns_sqs.filter_policy import FilterPolicy, FilterPolicyError, matches, validate


def ok(policy: Any, **attrs: Any) -> bool:
    return matches(policy, attributes.encode(attrs))


def test_no_policy_matches_everything() -> None:
    assert ok(None) and ok({}) and ok("{}", a=1)


def test_exact_string_and_number() -> None:
    assert ok({"store": ["a", "b"]}, store="b")
    assert not ok({"store": ["a"]}, store="c")
    assert not ok({"store": ["a"]})  # absent attribute
    assert ok({"price": [5]}, price=5) and ok({"price": [5]}, price=5.0)
    assert not ok({"price": [5]}, price="5")  # string attribute never equals a number
    assert not ok({"price": ["5"]}, price=5)


def test_keys_are_anded_values_ored() -> None:
    policy = {"a": ["x"], "b": [1, 2]}
    assert ok(policy, a="x", b=2)
    assert not ok(policy, a="x", b=3)
    assert not ok(policy, a="x")


def test_prefix_suffix_ignore_case() -> None:
    assert ok({"k": [{"prefix": "ord"}]}, k="order")
    assert not ok({"k": [{"prefix": "ord"}]}, k="xorder")
    assert ok({"k": [{"suffix": ".png"}]}, k="a.png")
    assert ok({"k": [{"equals-ignore-case": "HeLLo"}]}, k="hello")
    assert not ok({"k": [{"prefix": "1"}]}, k=12)  # prefix only applies to strings


def test_anything_but() -> None:
    assert ok({"k": [{"anything-but": ["a", "b"]}]}, k="c")
    assert not ok({"k": [{"anything-but": ["a", "b"]}]}, k="a")
    assert ok({"k": [{"anything-but": "a"}]}, k="b")
    assert ok({"k": [{"anything-but": [100]}]}, k=99)
    assert not ok({"k": [{"anything-but": [100]}]}, k=100)
    assert not ok({"k": [{"anything-but": ["a"]}]})  # absent attribute does not match
    assert ok({"k": [{"anything-but": {"prefix": "tmp-"}}]}, k="real")
    assert not ok({"k": [{"anything-but": {"prefix": "tmp-"}}]}, k="tmp-1")
    assert not ok({"k": [{"anything-but": {"suffix": "-x"}}]}, k="a-x")
    assert not ok({"k": [{"anything-but": {"equals-ignore-case": ["A"]}}]}, k="a")


@pytest.mark.parametrize(
    ("numeric", "inside", "outside"),
    [
        (["=", 3], [3, 3.0], [2, 4]),
        ([">", 3], [3.5, 100], [3, 0]),
        ([">=", 3], [3], [2.99]),
        (["<", 0], [-1], [0]),
        (["<=", 0], [0], [0.01]),
        ([">", 0, "<=", 5], [0.1, 5], [0, 5.1]),
        ([">=", 0, "<", 5], [0, 4.99], [5, -1]),
    ],
)
def test_numeric(numeric: list[Any], inside: list[float], outside: list[float]) -> None:
    policy = {"n": [{"numeric": numeric}]}
    for value in inside:
        assert ok(policy, n=value), value
    for value in outside:
        assert not ok(policy, n=value), value
    assert not ok(policy, n="3")


def test_exists() -> None:
    assert ok({"k": [{"exists": True}]}, k="anything")
    assert not ok({"k": [{"exists": True}]})
    assert ok({"k": [{"exists": False}]}, other="x")
    assert not ok({"k": [{"exists": False}]})  # a message with no attributes matches no policy (as on SNS)
    assert not ok({"k": [{"exists": False}]}, k="x")
    assert ok({"k": ["a", {"exists": False}]}, other="x")  # OR with absence


def test_or() -> None:
    policy = {"source": ["aws.cloudwatch"], "$or": [{"metric": ["CPU"]}, {"namespace": [{"prefix": "AWS/"}]}]}
    assert ok(policy, source="aws.cloudwatch", metric="CPU")
    assert ok(policy, source="aws.cloudwatch", namespace="AWS/EC2")
    assert not ok(policy, source="aws.cloudwatch", metric="Mem")
    assert not ok(policy, source="other", metric="CPU")
    assert ok({"$or": [{"a": [1]}, {"b": [{"exists": False}]}]}, c="x")


def test_string_array_matches_any_element() -> None:
    assert ok({"tags": ["red"]}, tags=["blue", "red"])
    assert ok({"tags": [2]}, tags=["x", 2])
    assert not ok({"tags": ["green"]}, tags=["blue", "red"])
    assert ok({"flag": [True]}, flag=True)


def test_cidr_and_binary() -> None:
    assert ok({"ip": [{"cidr": "10.0.0.0/24"}]}, ip="10.0.0.7")
    assert not ok({"ip": [{"cidr": "10.0.0.0/24"}]}, ip="10.0.1.7")
    assert not ok({"b": ["ab"]}, b=b"ab")
    assert ok({"b": [{"exists": True}]}, b=b"ab")


def test_notification_form_attributes() -> None:
    assert matches({"k": ["v"]}, {"k": {"Type": "String", "Value": "v"}})


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        ("not json", "not valid JSON"),
        ([], "non-empty JSON object"),
        ({"k": "v"}, "must be a non-empty list"),
        ({"k": []}, "must be a non-empty list"),
        ({"k": {"nested": ["x"]}}, "nested keys"),
        ({"k": [None]}, "null"),
        ({"k": [{"prefix": 1}]}, "expected a string"),
        ({"k": [{"numeric": ["<", 1, ">", 5]}]}, "lower bound"),
        ({"k": [{"numeric": [">", 5, "<", 1]}]}, "less than"),
        ({"k": [{"numeric": ["~", 1]}]}, "unknown numeric operator"),
        ({"k": [{"numeric": [">", 2e9]}]}, "between"),
        ({"k": [{"exists": "yes"}]}, "true or false"),
        ({"k": [{"wat": 1}]}, "unsupported operator"),
        ({"k": [{"prefix": "a", "suffix": "b"}]}, "exactly one operator"),
        ({"k": [{"anything-but": []}]}, "at least one value"),
        ({"k": [{"cidr": "nope"}]}, "invalid cidr"),
        ({"$or": [{"a": ["x"]}]}, "at least two"),
        ({"a": list(range(11)), "b": list(range(14))}, "combinations"),
    ],
)
def test_invalid_policies(policy: Any, message: str) -> None:
    with pytest.raises(FilterPolicyError, match=message):
        validate(policy)


def test_json_string_policy() -> None:
    policy = FilterPolicy('{"k": [{"numeric": [">=", 1]}]}')
    assert policy.matches(attributes.encode({"k": 1}))


@given(st.text(max_size=8), st.text(max_size=8))
def test_exact_and_anything_but_are_complements(wanted: str, actual: str) -> None:
    attrs = attributes.encode({"k": actual})
    assert matches({"k": [wanted]}, attrs) != matches({"k": [{"anything-but": [wanted]}]}, attrs)


@given(st.integers(-1000, 1000), st.integers(-1000, 1000), st.integers(-1000, 1000))
def test_numeric_range_agrees_with_python(lower: int, upper: int, value: int) -> None:
    if lower >= upper:
        return
    policy = {"n": [{"numeric": [">=", lower, "<", upper]}]}
    assert ok(policy, n=value) == (lower <= value < upper)
