"""tomodachi.testing.strategies: every strategy produces values of the shape it promises."""

from __future__ import annotations

import asyncio
import json
import math
import re
from typing import Any

import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from tomodachi.envelope.json_base import COMPRESSED, COMPRESSION_THRESHOLD, PROTOCOL_VERSION, RAW, JsonBase
from tomodachi.messaging.sns_sqs import attributes
from tomodachi.messaging.sns_sqs.filter_policy import FilterPolicy, validate
from tomodachi.testing.plans import FaultPlan
from tomodachi.testing.strategies import (
    attribute_names,
    delivery_orders,
    fault_plans,
    filter_policies,
    filter_policies_with_matching_attributes,
    filter_policies_with_non_matching_attributes,
    json_envelopes,
    json_values,
    malformed_json_envelopes,
    message_attributes,
)

NAME = re.compile(r"[A-Za-z0-9_.-]{1,256}")


def valid_attribute_name(name: str) -> bool:
    """The AWS naming rules for message attributes, restated independently of the strategy."""
    return (
        NAME.fullmatch(name) is not None
        and ".." not in name
        and not name.startswith(".")
        and not name.endswith(".")
        and not name.lower().startswith(("aws.", "amazon."))
    )


def valid_attribute_value(value: Any) -> bool:
    if isinstance(value, list):
        return bool(value) and all(valid_attribute_value(v) and not isinstance(v, list) for v in value)
    if isinstance(value, str):
        return value != "" and not any(ord(c) < 0x20 or 0xD800 <= ord(c) <= 0xDFFF for c in value)
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def combinations(policy: dict[str, list[Any]]) -> int:
    return math.prod(len(conditions) for conditions in policy.values())


def parse(payload: str) -> tuple[Any, Any, Any]:
    return asyncio.run(JsonBase.parse_message(payload))


def refused(payload: str) -> bool:
    """What the message pipeline treats as unparseable: parse_message raises, or returns message False."""
    try:
        message, _uuid, _timestamp = parse(payload)
    except Exception:
        return True
    return message is False


def sample(strategy: SearchStrategy[Any], count: int = 100) -> list[Any]:
    """``count`` values of ``strategy``, the same on every run (coverage checks must not be flaky)."""
    values: list[Any] = []

    @settings(max_examples=count, derandomize=True, database=None, deadline=None)
    @given(strategy)
    def collect(value: Any) -> None:
        values.append(value)

    collect()
    return values


def test_the_naming_check_itself_refuses_bad_names() -> None:
    assert valid_attribute_name("order.id-2_x") and valid_attribute_name("a" * 256)
    for bad in ("", "a" * 257, "a..b", ".a", "a.", "AWS.x", "amazon.x", "a b", "ä", "a/b"):
        assert not valid_attribute_name(bad), bad


@settings(max_examples=60, deadline=None)
@given(message_attributes())
def test_message_attributes_are_valid_and_survive_the_codec(values: dict[str, Any]) -> None:
    assert len(values) <= 10
    for name, value in values.items():
        assert valid_attribute_name(name), name
        assert valid_attribute_value(value), value
    encoded = attributes.encode(values)
    assert {item["DataType"] for item in encoded.values()} <= {"String", "Number", "String.Array"}
    assert attributes.decode(encoded) == values


def test_attribute_names_cover_dots_and_the_length_limit() -> None:
    names = sample(attribute_names())
    assert all(valid_attribute_name(name) for name in names)
    assert any("." in name for name in names)
    assert any(len(name) >= 250 for name in names)


@settings(max_examples=60, deadline=None)
@given(filter_policies())
def test_filter_policies_are_accepted_by_the_validator(policy: dict[str, list[Any]]) -> None:
    assert 1 <= len(policy) <= 5
    assert all(conditions for conditions in policy.values())
    assert combinations(policy) <= 150
    assert all(valid_attribute_name(name) for name in policy)
    FilterPolicy(policy)
    validate(json.dumps(policy))  # the form a subscription attribute carries


def condition_kind(condition: Any) -> str:
    if isinstance(condition, str):
        return "string"
    if not isinstance(condition, dict):
        return "number"
    ((operator, operand),) = condition.items()
    if operator == "anything-but":
        return f"anything-but {type(operand).__name__}"
    if operator == "numeric":
        return f"numeric {len(operand) // 2}-sided"
    return f"{operator} {operand}" if operator == "exists" else operator


def test_filter_policies_use_the_whole_grammar() -> None:
    policies = sample(filter_policies())
    kinds = {condition_kind(c) for policy in policies for conditions in policy.values() for c in conditions}
    assert kinds >= {
        "string",
        "number",
        "prefix",
        "anything-but str",
        "anything-but list",
        "anything-but dict",
        "numeric 1-sided",
        "numeric 2-sided",
        "exists True",
        "exists False",
    }
    assert {len(policy) for policy in policies} == {1, 2, 3, 4, 5}


@settings(max_examples=60, deadline=None)
@given(st.one_of(filter_policies_with_matching_attributes(), filter_policies_with_non_matching_attributes()))
def test_policy_pairs_hold_valid_policies_and_attributes(pair: tuple[dict[str, list[Any]], dict[str, Any]]) -> None:
    policy, values = pair
    FilterPolicy(policy)
    assert len(policy) <= 5 and combinations(policy) <= 150
    assert len(values) <= 10
    for name, value in values.items():
        assert valid_attribute_name(name), name
        assert valid_attribute_value(value), value


@settings(max_examples=40, deadline=None)
@given(filter_policies_with_matching_attributes())
def test_matching_pairs_never_have_an_empty_message(pair: tuple[dict[str, list[Any]], dict[str, Any]]) -> None:
    assert pair[1]  # SNS matches no policy at all against a message without attributes


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_json_envelopes_round_trip_to_the_drawn_data(data: st.DataObject) -> None:
    value = data.draw(
        st.one_of(json_values(), st.text(min_size=1, max_size=4).map(lambda s: [s * COMPRESSION_THRESHOLD]))
    )
    payload = data.draw(json_envelopes(st.just(value)))
    message, message_uuid, timestamp = parse(payload)
    assert message["data"] == value
    assert message["metadata"]["protocol_version"] == PROTOCOL_VERSION
    assert message_uuid == message["metadata"]["message_uuid"] and isinstance(message_uuid, str)
    assert timestamp == message["metadata"]["timestamp"]
    compressed = len(json.dumps(value)) >= COMPRESSION_THRESHOLD
    assert message["metadata"]["data_encoding"] == (COMPRESSED if compressed else RAW)


@settings(max_examples=20, deadline=None)
@given(st.data())
def test_json_envelopes_are_laid_out_as_build_message_writes_them(data: st.DataObject) -> None:
    value = data.draw(st.one_of(json_values(), st.just({"blob": "x" * COMPRESSION_THRESHOLD})))
    generated = json.loads(data.draw(json_envelopes(st.just(value))))

    class Service:
        name = "svc"
        uuid = "abc"

    built = json.loads(asyncio.run(JsonBase.build_message(Service(), "topic", value)))
    assert list(generated) == list(built)
    assert list(generated["service"]) == list(built["service"])
    assert list(generated["metadata"]) == list(built["metadata"])
    assert generated["data"] == built["data"]  # zlib is deterministic: compressed data is byte-identical
    assert generated["metadata"]["data_encoding"] == built["metadata"]["data_encoding"]
    assert generated["metadata"]["compatible_protocol_versions"] == built["metadata"]["compatible_protocol_versions"]


def test_default_json_envelopes_include_compressed_ones() -> None:
    encodings = {json.loads(payload)["metadata"]["data_encoding"] for payload in sample(json_envelopes(), 40)}
    assert encodings == {RAW, COMPRESSED}


def test_refused_accepts_a_valid_envelope() -> None:
    payload = asyncio.run(JsonBase.build_message(None, "t", {"a": 1}))
    assert not refused(payload)
    assert refused("{")


@settings(max_examples=100, deadline=None)
@given(malformed_json_envelopes())
def test_malformed_json_envelopes_are_refused(payload: str) -> None:
    assert refused(payload)


def malformation(payload: str) -> str:
    try:
        message = json.loads(payload)
    except ValueError:
        return "not json"
    if not isinstance(message, dict):
        return "not an object"
    metadata = message.get("metadata")
    if not isinstance(metadata, dict) or not metadata:
        return "no metadata"
    if metadata.get("data_encoding") == COMPRESSED:
        return "broken compressed data"
    return "unknown data encoding"


def test_malformed_json_envelopes_cover_each_kind() -> None:
    payloads = sample(malformed_json_envelopes(), 80)
    assert all(refused(payload) for payload in payloads)
    assert {malformation(payload) for payload in payloads} == {
        "not json",
        "not an object",
        "no metadata",
        "unknown data encoding",
        "broken compressed data",
    }


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 30).flatmap(lambda n: st.tuples(st.just(n), delivery_orders(n))))
def test_delivery_orders_are_permutations(case: tuple[int, list[int]]) -> None:
    n, order = case
    assert len(order) == n and sorted(order) == list(range(n))


def test_delivery_orders_do_reorder() -> None:
    assert find(delivery_orders(3), lambda order: order != [0, 1, 2]) != [0, 1, 2]
    assert find(delivery_orders(0), lambda order: True) == []
    with pytest.raises(ValueError, match="n >= 0"):
        delivery_orders(-1)


@settings(max_examples=60, deadline=None)
@given(fault_plans(queues=["orders", "payments"], kinds=["duplicate", "fail"], max_faults=3))
def test_fault_plans_are_valid_plans_of_the_kinds_and_queues_asked_for(plan: FaultPlan) -> None:
    assert len(plan.faults) <= 3 and 0 <= plan.seed < 2**32
    for fault in plan.faults:
        assert fault.kind in ("duplicate", "fail") and fault.queue in (None, "orders", "payments")
        assert fault.at or 0.05 <= fault.probability <= 0.5
