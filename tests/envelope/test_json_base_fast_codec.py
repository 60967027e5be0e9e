"""JsonBase lays its envelope out directly and reads it with the JSON scanner: the bytes on the wire and the
parsed results (and errors) stay exactly those of ``json.dumps`` / ``json.loads`` on the envelope dict."""

from __future__ import annotations

import json
import math
import time
import uuid
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tomodachi.envelope import JsonBase
from tomodachi.envelope._codec import dumps, loads, uuid4_text
from tomodachi.envelope.json_base import COMPATIBLE_PROTOCOL_VERSIONS, PROTOCOL_VERSION

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
names = st.none() | st.text(max_size=12) | st.integers()


def reference_build(service: Any, topic: str, data: Any, message_uuid: str, timestamp: object) -> str:
    """The envelope as a dict through json.dumps: the layout every JsonBase peer reads."""
    return json.dumps(
        {
            "service": {"name": getattr(service, "name", None), "uuid": getattr(service, "uuid", None)},
            "metadata": {
                "message_uuid": message_uuid,
                "protocol_version": PROTOCOL_VERSION,
                "compatible_protocol_versions": list(COMPATIBLE_PROTOCOL_VERSIONS),
                "timestamp": timestamp,
                "topic": topic,
                "data_encoding": "raw",
            },
            "data": data,
        }
    )


@settings(max_examples=200, deadline=None)
@given(
    data=json_values,
    name=names,
    service_uuid=st.none() | st.text(max_size=12),
    topic=st.text(max_size=12),
    timestamp=st.floats() | st.integers(),
)
async def test_the_built_envelope_is_json_dumps_of_the_envelope_dict(
    data: Any, name: object, service_uuid: str | None, topic: str, timestamp: float
) -> None:
    service = SimpleNamespace(name=name, uuid=service_uuid)
    fixed = uuid.UUID("aaaaaaaa-bbbb-4ccc-9ddd-eeeeeeeeeeee")
    real_uuid4, real_time = uuid.uuid4, time.time
    uuid.uuid4, time.time = (lambda: fixed), (lambda: timestamp)  # type: ignore[assignment]
    try:
        built = await JsonBase.build_message(service, topic, data)
    finally:
        uuid.uuid4, time.time = real_uuid4, real_time  # type: ignore[method-assign]
    message_uuid = f"{service_uuid if service_uuid is not None else ''}.{fixed}"
    assert built == reference_build(service, topic, data, message_uuid, timestamp)


@settings(max_examples=200, deadline=None)
@given(value=json_values)
def test_dumps_and_loads_match_the_json_module(value: Any) -> None:
    text = dumps(value)
    assert text == json.dumps(value)
    expected = json.loads(text)
    assert json.dumps(loads(text)) == json.dumps(expected)  # NaN != NaN: compared as text


@pytest.mark.parametrize(
    "text", ["", " {}", "{} ", '{"a": 1} x', '{"a": }', "{", "\ufeff{}", '{"a": 1}{"b": 2}', "[1]", "nan"]
)
def test_loads_raises_what_json_loads_raises(text: str) -> None:
    try:
        expected: Any = json.loads(text)
    except ValueError as exc:
        with pytest.raises(type(exc)) as raised:
            loads(text)
        assert str(raised.value) == str(exc)
    else:
        assert loads(text) == expected


def test_dumps_raises_what_json_dumps_raises() -> None:
    circular: list[Any] = []
    circular.append(circular)
    for value in (object(), {"a": {1, 2}}, circular, {(1, 2): 3}):
        with pytest.raises((TypeError, ValueError)) as expected:
            json.dumps(value)
        with pytest.raises(type(expected.value), match=str(expected.value).replace("(", r"\(").replace(")", r"\)")):
            dumps(value)
    assert dumps(float("nan")) == "NaN" and dumps(math.inf) == "Infinity"


def test_message_uuids_are_random_version_4_uuids() -> None:
    seen = {uuid4_text() for _ in range(2000)}
    assert len(seen) == 2000
    for text in seen:
        parsed = uuid.UUID(text)
        assert str(parsed) == text and parsed.version == 4 and parsed.variant == uuid.RFC_4122


def test_a_replaced_uuid4_is_what_the_envelope_uses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("uuid.uuid4", lambda: uuid.UUID(int=7))
    assert uuid4_text() == "00000000-0000-0000-0000-000000000007"
