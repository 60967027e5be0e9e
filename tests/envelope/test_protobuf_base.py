"""ProtobufBase: wire layout of SNSSQSMessage, round trips, compression, validation and the missing-protobuf stub."""

from __future__ import annotations

import base64
import struct
import sys
import uuid
import zlib
from types import SimpleNamespace
from typing import Any

import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

from tomodachi.envelope import ProtobufBase
from tomodachi.protocol import ProtobufBase as LegacyProtobufBase

SERVICE = SimpleNamespace(name="svc", uuid="u1")


def person_class() -> Any:
    fdp = descriptor_pb2.FileDescriptorProto(name="person_test.proto", package="testpkg", syntax="proto3")
    msg = fdp.message_type.add(name="Person")
    msg.field.add(name="name", number=1, type=9, label=1)
    msg.field.add(name="age", number=2, type=5, label=1)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("testpkg.Person"))


Person = person_class()


def _len_field(number: int, value: bytes) -> bytes:
    return bytes([(number << 3) | 2, len(value)]) + value


async def test_wire_layout_by_hand(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("uuid.uuid4", lambda: uuid.UUID(int=1))
    monkeypatch.setattr("time.time", lambda: 2.5)
    payload = await ProtobufBase.build_message(SERVICE, "topic-a", Person(name="bo", age=3))
    user = _len_field(1, b"bo") + bytes([0x10, 3])
    service = _len_field(1, b"svc") + _len_field(2, b"u1")
    metadata = (
        _len_field(1, b"u1.00000000-0000-0000-0000-000000000001")
        + _len_field(2, b"tomodachi-protobuf-base--1.0.0")
        + bytes([(3 << 3) | 1])
        + struct.pack("<d", 2.5)
        + _len_field(4, b"topic-a")
        + _len_field(5, b"proto")
    )
    expected = _len_field(1, service) + _len_field(2, metadata) + _len_field(3, user)
    assert base64.b64decode(payload) == expected


async def test_round_trip_with_proto_class_and_validator() -> None:
    seen: list[Any] = []
    payload = await ProtobufBase.build_message(SERVICE, "t", Person(name="ann", age=40))
    message, message_uuid, timestamp = await ProtobufBase.parse_message(
        payload, proto_class=Person, validator=seen.append
    )
    assert message["data"] == Person(name="ann", age=40)
    assert seen == [Person(name="ann", age=40)]
    assert message["metadata"]["data_encoding"] == "proto"
    assert message["metadata"]["message_uuid"] == message_uuid
    assert message["metadata"]["timestamp"] == timestamp
    assert message["service"] == {"name": "svc", "uuid": "u1"}


async def test_validator_errors_propagate() -> None:
    def reject(obj: Any) -> None:
        raise ValueError("too old")

    payload = await ProtobufBase.build_message(SERVICE, "t", Person(name="x", age=200))
    with pytest.raises(ValueError, match="too old"):
        await ProtobufBase.parse_message(payload, proto_class=Person, validator=reject)


async def test_without_proto_class_returns_raw_bytes() -> None:
    payload = await ProtobufBase.build_message(SERVICE, "t", Person(name="x"))
    message, _, _ = await ProtobufBase.parse_message(payload)
    assert message["data"] == Person(name="x").SerializeToString()


async def test_large_message_is_compressed() -> None:
    big = Person(name="y" * 70000)
    payload = await ProtobufBase.build_message(SERVICE, "t", big)
    message, _, _ = await ProtobufBase.parse_message(payload, proto_class=Person)
    assert message["metadata"]["data_encoding"] == "gzip_proto"
    assert message["data"] == big


@pytest.mark.parametrize(
    ("encoding", "encode"),
    [
        ("base64", lambda b: base64.b64encode(b)),
        ("base64_gzip_proto", lambda b: base64.b64encode(zlib.compress(b))),
    ],
)
async def test_legacy_encodings(encoding: str, encode: Any) -> None:
    from tomodachi.envelope._sns_sqs_message import message_classes

    envelope = message_classes()["SNSSQSMessage"]()
    envelope.metadata.data_encoding = encoding
    envelope.metadata.message_uuid = "m"
    envelope.data = encode(Person(name="old").SerializeToString())
    payload = base64.b64encode(envelope.SerializeToString()).decode()
    message, message_uuid, _ = await ProtobufBase.parse_message(payload, proto_class=Person)
    assert message["data"] == Person(name="old") and message_uuid == "m"


def test_validate_requires_proto_class() -> None:
    with pytest.raises(ValueError, match="proto_class"):
        ProtobufBase.validate()
    ProtobufBase.validate(proto_class=Person)


async def test_build_rejects_non_protobuf() -> None:
    with pytest.raises(TypeError):
        await ProtobufBase.build_message(SERVICE, "t", {"a": 1})


def test_protocol_alias() -> None:
    assert LegacyProtobufBase is ProtobufBase


async def test_missing_protobuf_gives_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from tomodachi.envelope import _sns_sqs_message

    _sns_sqs_message.message_classes.cache_clear()
    for name in [m for m in sys.modules if m == "google.protobuf" or m.startswith("google.protobuf.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "google.protobuf", None)
    try:
        with pytest.raises(ImportError, match=r"tomodachi\[protobuf\]"):
            await ProtobufBase.build_message(SERVICE, "t", Person(name="x"))
        with pytest.raises(ImportError, match="protobuf"):
            ProtobufBase.validate(proto_class=Person)
    finally:
        _sns_sqs_message.message_classes.cache_clear()


def test_import_envelope_is_light() -> None:
    import subprocess

    code = "import sys, tomodachi.envelope, tomodachi.protocol; print('google.protobuf' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
