"""Message attribute codec for in every accepted input form."""

from __future__ import annotations

import decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tomodachi.messaging.sns_sqs import attributes


def test_encode_table() -> None:
    encoded = attributes.encode(
        {
            "s": "x",
            "i": 3,
            "f": 1.5,
            "d": decimal.Decimal("2.25"),
            "b": b"\x00\x01",
            "l": ["a", 1],
            "n": None,
            "t": True,
            "o": object.__new__(type("Thing", (), {"__str__": lambda self: "thing"})),
        }
    )
    assert encoded == {
        "s": {"DataType": "String", "StringValue": "x"},
        "i": {"DataType": "Number", "StringValue": "3"},
        "f": {"DataType": "Number", "StringValue": "1.5"},
        "d": {"DataType": "Number", "StringValue": "2.25"},
        "b": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
        "l": {"DataType": "String.Array", "StringValue": '["a", 1]'},
        "n": {"DataType": "String.Array", "StringValue": "null"},
        "t": {"DataType": "String.Array", "StringValue": "true"},
        "o": {"DataType": "String", "StringValue": "thing"},
    }
    assert attributes.encode(None) == {}


@pytest.mark.parametrize(
    ("item", "value"),
    [
        ({"DataType": "String", "StringValue": "x"}, "x"),
        ({"Type": "String", "Value": "x"}, "x"),
        ({"dataType": "String", "stringValue": "x"}, "x"),
        ({"type": "Number", "value": "7"}, 7),
        ({"Type": "Number", "Value": "7.5"}, 7.5),
        ({"Type": "Number", "Value": "1e3"}, 1000.0),
        ({"DataType": "Number.int", "StringValue": "4"}, 4),
        ({"DataType": "Binary", "BinaryValue": b"ab"}, b"ab"),
        ({"Type": "Binary", "Value": "YWI="}, b"ab"),
        ({"Type": "String.Array", "Value": '["a", 2, null]'}, ["a", 2, None]),
        ({"Type": "String.Array", "Value": "true"}, True),
    ],
)
def test_decode_forms(item: dict[str, Any], value: Any) -> None:
    assert attributes.decode({"k": item}) == {"k": value}


def test_decode_skips_incomplete_items() -> None:
    assert attributes.decode({"a": {"DataType": "String"}, "b": {"Value": "x"}, "c": "junk"}) == {}


def test_notification_form() -> None:
    form = attributes.to_notification_form(attributes.encode({"b": b"ab", "n": 2}))
    assert form == {"b": {"Type": "Binary", "Value": "YWI="}, "n": {"Type": "Number", "Value": "2"}}
    assert attributes.decode(form) == {"b": b"ab", "n": 2}


values = st.one_of(
    st.text(),
    st.integers(),
    st.binary(),
    st.none(),
    st.booleans(),
    st.lists(st.one_of(st.text(), st.integers(), st.booleans(), st.none())),
)


@given(st.dictionaries(st.text(min_size=1, max_size=10), values, max_size=5))
def test_round_trip_both_forms(data: dict[str, Any]) -> None:
    encoded = attributes.encode(data)
    assert attributes.decode(encoded) == data
    assert attributes.decode(attributes.to_notification_form(encoded)) == data


@pytest.mark.parametrize(
    "item",
    [
        {"DataType": "String.Array", "StringValue": "not json ["},
        {"Type": "String.Array", "Value": ""},
        {"DataType": "Number", "StringValue": "twelve"},
        {"DataType": "Number.custom", "StringValue": ""},
    ],
)
def test_undecodable_values_fall_back_to_the_raw_string(item: dict[str, Any]) -> None:
    # SQS does not validate custom data types: a foreign sender's malformed value must not fail the message
    assert attributes.decode({"k": item, "ok": {"DataType": "String", "StringValue": "x"}}) == {
        "k": next(v for key, v in item.items() if key in ("StringValue", "Value")),
        "ok": "x",
    }
