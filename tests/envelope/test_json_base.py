"""JsonBase: exact wire bytes, round trips and large-payload compression."""

from __future__ import annotations

import base64
import json
import uuid
import zlib
from types import SimpleNamespace
from typing import Any

import pytest

from tomodachi.envelope import JsonBase
from tomodachi.protocol import JsonBase as LegacyJsonBase

SERVICE = SimpleNamespace(name="svc-a", uuid="11111111-2222-3333-4444-555555555555")
FIXED_UUID = uuid.UUID("aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee")


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("uuid.uuid4", lambda: FIXED_UUID)
    monkeypatch.setattr("time.time", lambda: 1700000000.25)


async def test_wire_bytes_match_spec(frozen: None) -> None:
    payload = await JsonBase.build_message(SERVICE, "orders-created", {"id": 7, "name": "å"})
    expected = (
        '{"service": {"name": "svc-a", "uuid": "11111111-2222-3333-4444-555555555555"}, '
        '"metadata": {"message_uuid": "11111111-2222-3333-4444-555555555555.aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", '
        '"protocol_version": "tomodachi-json-base--1.0.0", "compatible_protocol_versions": ["json_base-wip"], '
        '"timestamp": 1700000000.25, "topic": "orders-created", "data_encoding": "raw"}, '
        '"data": {"id": 7, "name": "\\u00e5"}}'
    )
    assert payload == expected


async def test_round_trip() -> None:
    payload = await JsonBase.build_message(SERVICE, "t", ["a", 1, None])
    message, message_uuid, timestamp = await JsonBase.parse_message(payload)
    assert message["data"] == ["a", 1, None]
    assert message["service"] == {"name": "svc-a", "uuid": SERVICE.uuid}
    assert message_uuid.startswith(SERVICE.uuid + ".")
    assert message["metadata"]["message_uuid"] == message_uuid
    assert message["metadata"]["timestamp"] == timestamp
    assert message["metadata"]["topic"] == "t"
    assert "compatible_protocol_versions" not in message["metadata"]
    assert list(message) == ["service", "metadata", "data"]


async def test_large_payload_is_compressed_at_threshold(frozen: None) -> None:
    just_below = "x" * (60000 - 3)  # json adds two quotes -> 59999 chars
    small = json.loads(await JsonBase.build_message(SERVICE, "t", just_below))
    assert small["metadata"]["data_encoding"] == "raw"
    at_threshold = "x" * (60000 - 2)
    big = json.loads(await JsonBase.build_message(SERVICE, "t", at_threshold))
    assert big["metadata"]["data_encoding"] == "base64_gzip_json"
    assert zlib.decompress(base64.b64decode(big["data"])).decode() == json.dumps(at_threshold)
    message, _, _ = await JsonBase.parse_message(json.dumps(big))
    assert message["data"] == at_threshold


async def test_parses_upstream_style_compressed_message() -> None:
    data = {"rows": list(range(20000))}
    body = {
        "service": {"name": "old", "uuid": "u"},
        "metadata": {
            "message_uuid": "u.1",
            "protocol_version": "tomodachi-json-base--1.0.0",
            "compatible_protocol_versions": ["json_base-wip"],
            "timestamp": 1.0,
            "topic": "x",
            "data_encoding": "base64_gzip_json",
        },
        "data": base64.b64encode(zlib.compress(json.dumps(data).encode())).decode(),
    }
    message, message_uuid, timestamp = await JsonBase.parse_message(json.dumps(body))
    assert message["data"] == data and message_uuid == "u.1" and timestamp == 1.0


@pytest.mark.parametrize("payload", ["not json", "[1, 2]", '{"metadata": {"data_encoding": "rot13"}, "data": 1}'])
async def test_bad_payload_raises_clearly(payload: str) -> None:
    with pytest.raises(ValueError):
        await JsonBase.parse_message(payload)


async def test_service_without_uuid() -> None:
    payload = await JsonBase.build_message(object(), "t", 1)
    message, message_uuid, _ = await JsonBase.parse_message(payload)
    assert message["service"] == {"name": None, "uuid": None}
    assert message_uuid.startswith(".")


def test_protocol_alias() -> None:
    assert LegacyJsonBase is JsonBase


class CustomEnvelope:
    @classmethod
    async def build_message(cls, service: Any, topic: str, data: Any, **kwargs: Any) -> str:
        return f"{topic}|{data}"

    @classmethod
    async def parse_message(cls, payload: str, **kwargs: Any) -> tuple[Any, Any, Any]:
        topic, data = payload.split("|")
        return {"data": data, "topic_seen": topic}, None, None


def test_custom_envelope_is_duck_typed() -> None:
    from tomodachi.envelope import MessageEnvelopeProtocol
    from tomodachi.envelope.base import validate_envelope

    assert isinstance(CustomEnvelope, MessageEnvelopeProtocol)
    validate_envelope(CustomEnvelope)
    with pytest.raises(TypeError, match="parse_message"):
        validate_envelope(object())


async def test_a_json_object_that_is_no_envelope_says_so() -> None:
    with pytest.raises(ValueError, match="not a JsonBase envelope.*sent without an envelope"):
        await JsonBase.parse_message('{"order_id": 7}')
