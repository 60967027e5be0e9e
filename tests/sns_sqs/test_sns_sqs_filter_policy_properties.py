"""The memory broker's SNS filter-policy matcher against the documented AWS examples and generated policies."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given, settings

from tomodachi.messaging.sns_sqs import attributes
from tomodachi.messaging.sns_sqs.filter_policy import FilterPolicy
from tomodachi.testing.strategies import (
    filter_policies,
    filter_policies_with_matching_attributes,
    filter_policies_with_non_matching_attributes,
    message_attributes,
)


@dataclass(frozen=True)
class Wire:
    """An attribute given in botocore form, for spellings ``attributes.encode`` never produces (``3.015e2``)."""

    data_type: str
    value: str


def encode(values: dict[str, Any]) -> dict[str, Any]:
    """What the memory broker hands the matcher: botocore-form attributes, as ``attributes.encode`` builds them."""
    return {
        name: {"DataType": v.data_type, "StringValue": v.value} if isinstance(v, Wire) else attributes.encode_value(v)
        for name, v in values.items()
    }


def delivered(policy: dict[str, Any], values: dict[str, Any]) -> bool:
    return FilterPolicy(policy).matches(encode(values))


# the transaction message the AWS guide uses throughout its filter-policy examples
SHOP_MESSAGE = {
    "customer_interests": ["soccer", "rugby", "hockey"],
    "store": "example_corp",
    "event": "order_placed",
    "price_usd": 210.75,
}
INTERESTS = ["baseball", "basketball"]

# (policy, message attributes, whether SNS delivers), per the AWS SNS developer guide's filter-policy pages
AWS_CASES: dict[str, tuple[dict[str, Any], dict[str, Any], bool]] = {
    # example filter policies: one accepting the shop message, one rejecting it on several keys
    "example accepts the shop message": (
        {
            "store": ["example_corp"],
            "event": [{"anything-but": "order_cancelled"}],
            "customer_interests": ["rugby", "football", "baseball"],
            "price_usd": [{"numeric": [">=", 100]}],
        },
        SHOP_MESSAGE,
        True,
    ),
    "example rejects the shop message": (
        {
            "store": ["example_corp"],
            "event": ["order_cancelled"],
            "encrypted": [False],
            "customer_interests": ["basketball", "baseball"],
        },
        SHOP_MESSAGE,
        False,
    ),
    "a key the message lacks rejects it whatever its values": (
        {"store": ["example_corp"], "encrypted": [False]},
        SHOP_MESSAGE,
        False,
    ),
    "strings compare case-sensitively": ({"store": ["Example_Corp"]}, SHOP_MESSAGE, False),
    # exact string matching
    "exact: first listed value": ({"customer_interests": ["rugby", "tennis"]}, {"customer_interests": "rugby"}, True),
    "exact: second listed value": ({"customer_interests": ["rugby", "tennis"]}, {"customer_interests": "tennis"}, True),
    "exact: array holding listed values": (
        {"customer_interests": ["rugby", "tennis"]},
        {"customer_interests": ["rugby", "tennis"]},
        True,
    ),
    "exact: unlisted value": ({"customer_interests": ["rugby", "tennis"]}, {"customer_interests": "baseball"}, False),
    "exact: array of unlisted values": (
        {"customer_interests": ["rugby", "tennis"]},
        {"customer_interests": ["baseball"]},
        False,
    ),
    # prefix matching
    "prefix: baseball": ({"customer_interests": [{"prefix": "bas"}]}, {"customer_interests": "baseball"}, True),
    "prefix: basketball": ({"customer_interests": [{"prefix": "bas"}]}, {"customer_interests": "basketball"}, True),
    "prefix: rugby": ({"customer_interests": [{"prefix": "bas"}]}, {"customer_interests": "rugby"}, False),
    # anything-but on strings
    "anything-but: baseball": (
        {"customer_interests": [{"anything-but": ["rugby", "tennis"]}]},
        {"customer_interests": "baseball"},
        True,
    ),
    "anything-but: football": (
        {"customer_interests": [{"anything-but": ["rugby", "tennis"]}]},
        {"customer_interests": "football"},
        True,
    ),
    "anything-but: excluded rugby": (
        {"customer_interests": [{"anything-but": ["rugby", "tennis"]}]},
        {"customer_interests": "rugby"},
        False,
    ),
    "anything-but prefix: data-entry": (
        {"event": [{"anything-but": {"prefix": "order-"}}]},
        {"event": "data-entry"},
        True,
    ),
    "anything-but prefix: order_number": (
        {"event": [{"anything-but": {"prefix": "order-"}}]},
        {"event": "order_number"},
        True,
    ),
    "anything-but prefix: order-cancelled": (
        {"event": [{"anything-but": {"prefix": "order-"}}]},
        {"event": "order-cancelled"},
        False,
    ),
    # IP address matching
    "cidr: network address": ({"source_ip": [{"cidr": "10.0.0.0/24"}]}, {"source_ip": "10.0.0.0"}, True),
    "cidr: last address": ({"source_ip": [{"cidr": "10.0.0.0/24"}]}, {"source_ip": "10.0.0.255"}, True),
    "cidr: other network": ({"source_ip": [{"cidr": "10.0.0.0/24"}]}, {"source_ip": "10.1.1.0"}, False),
    # numeric matching
    "numeric =: same number": ({"price_usd": [{"numeric": ["=", 301.5]}]}, {"price_usd": 301.5}, True),
    "numeric =: exponent spelling": (
        {"price_usd": [{"numeric": ["=", 301.5]}]},
        {"price_usd": Wire("Number", "3.015e2")},
        True,
    ),
    "anything-but numbers: 101": ({"price": [{"anything-but": [100, 500]}]}, {"price": 101}, True),
    "anything-but numbers: 100.1": ({"price": [{"anything-but": [100, 500]}]}, {"price": 100.1}, True),
    # the guide types this array "Number.Array", which SNS does not have: tomodachi sends lists as String.Array
    "anything-but numbers: array with an unlisted number": (
        {"price": [{"anything-but": [100, 500]}]},
        {"price": [100, 50]},
        True,
    ),
    "anything-but numbers: excluded 100": ({"price": [{"anything-but": [100, 500]}]}, {"price": 100}, False),
    "numeric <: negative": ({"price_usd": [{"numeric": ["<", 0]}]}, {"price_usd": -0.5}, True),
    "numeric <: zero": ({"price_usd": [{"numeric": ["<", 0]}]}, {"price_usd": 0}, False),
    "numeric <: positive": ({"price_usd": [{"numeric": ["<", 0]}]}, {"price_usd": 3}, False),
    "range: small positive": ({"price_usd": [{"numeric": [">", 0, "<=", 150]}]}, {"price_usd": 0.5}, True),
    "range: upper bound included": ({"price_usd": [{"numeric": [">", 0, "<=", 150]}]}, {"price_usd": 150}, True),
    "range: lower bound excluded": ({"price_usd": [{"numeric": [">", 0, "<=", 150]}]}, {"price_usd": 0}, False),
    "range: above": ({"price_usd": [{"numeric": [">", 0, "<=", 150]}]}, {"price_usd": 150.01}, False),
    # key matching
    "exists true: key present": (
        {"store": [{"exists": True}]},
        {"store": "fans", "customer_interests": INTERESTS},
        True,
    ),
    "exists true: key absent": ({"store": [{"exists": True}]}, {"customer_interests": INTERESTS}, False),
    "exists false: key present": (
        {"store": [{"exists": False}]},
        {"store": "fans", "customer_interests": INTERESTS},
        False,
    ),
    "exists false: key absent": ({"store": [{"exists": False}]}, {"customer_interests": INTERESTS}, True),
    # AND across keys, OR across a key's values, and the "$or" operator
    "and: both hold": (
        {"customer_interests": ["rugby"], "price_usd": [{"numeric": [">", 100]}]},
        {"customer_interests": "rugby", "price_usd": 150},
        True,
    ),
    "and: number fails": (
        {"customer_interests": ["rugby"], "price_usd": [{"numeric": [">", 100]}]},
        {"customer_interests": "rugby", "price_usd": 100},
        False,
    ),
    "and: string fails": (
        {"customer_interests": ["rugby"], "price_usd": [{"numeric": [">", 100]}]},
        {"customer_interests": "tennis", "price_usd": 150},
        False,
    ),
    "and: a key missing": (
        {"customer_interests": ["rugby"], "price_usd": [{"numeric": [">", 100]}]},
        {"customer_interests": "rugby"},
        False,
    ),
    "or: one of the values": (
        {"customer_interests": ["rugby", "football", "baseball"]},
        {"customer_interests": "football"},
        True,
    ),
    "or: none of the values": (
        {"customer_interests": ["rugby", "football", "baseball"]},
        {"customer_interests": "hockey"},
        False,
    ),
    "$or: first branch": (
        {"source": ["aws.cloudwatch"], "$or": [{"metricName": ["CPUUtilization"]}, {"namespace": ["AWS/EC2"]}]},
        {"source": "aws.cloudwatch", "metricName": "CPUUtilization"},
        True,
    ),
    "$or: second branch": (
        {"source": ["aws.cloudwatch"], "$or": [{"metricName": ["CPUUtilization"]}, {"namespace": ["AWS/EC2"]}]},
        {"source": "aws.cloudwatch", "namespace": "AWS/EC2"},
        True,
    ),
    "$or: neither branch": (
        {"source": ["aws.cloudwatch"], "$or": [{"metricName": ["CPUUtilization"]}, {"namespace": ["AWS/EC2"]}]},
        {"source": "aws.cloudwatch", "metricName": "MemoryUtilization"},
        False,
    ),
    "$or: the AND-ed key fails": (
        {"source": ["aws.cloudwatch"], "$or": [{"metricName": ["CPUUtilization"]}, {"namespace": ["AWS/EC2"]}]},
        {"source": "aws.ec2", "metricName": "CPUUtilization"},
        False,
    ),
    # SNS compares only String, String.Array and Number attributes
    "binary attributes are not compared": ({"photo": ["ab"]}, {"photo": b"ab"}, False),
}


@pytest.mark.parametrize(("policy", "values", "expected"), list(AWS_CASES.values()), ids=list(AWS_CASES))
def test_matcher_agrees_with_the_aws_documentation(
    policy: dict[str, Any], values: dict[str, Any], expected: bool
) -> None:
    assert delivered(policy, values) is expected
    assert FilterPolicy(json.dumps(policy)).matches(encode(values)) is expected  # as a subscription attribute


def test_exists_false_needs_a_message_with_attributes() -> None:
    # AWS: a message without attributes matches no subscription that has a filter policy
    assert delivered({"store": [{"exists": False}]}, {}) is False


@settings(max_examples=150, deadline=None)
@given(filter_policies_with_matching_attributes())
def test_constructed_matching_attributes_are_delivered(pair: tuple[dict[str, Any], dict[str, Any]]) -> None:
    policy, values = pair
    assert delivered(policy, values), (policy, values)


@settings(max_examples=150, deadline=None)
@given(filter_policies_with_non_matching_attributes())
def test_constructed_non_matching_attributes_are_filtered_out(pair: tuple[dict[str, Any], dict[str, Any]]) -> None:
    policy, values = pair
    assert not delivered(policy, values), (policy, values)


@settings(max_examples=60, deadline=None)
@given(filter_policies(), message_attributes())
def test_any_policy_decides_any_message(policy: dict[str, Any], values: dict[str, Any]) -> None:
    # no attribute shape makes the matcher raise, and the JSON text of a policy decides like the policy itself
    decision = delivered(policy, values)
    assert isinstance(decision, bool)
    assert FilterPolicy(json.dumps(policy)).matches(attributes.encode(values)) is decision
