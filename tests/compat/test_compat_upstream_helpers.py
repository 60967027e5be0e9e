"""Upstream's helper modules and transport classes, at their import paths, agreeing with our own behaviour."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import tomodachi
from tomodachi.config import parse_config_files
from tomodachi.helpers.banner import render_banner
from tomodachi.helpers.build_time import get_time_since_build
from tomodachi.messaging.amqp.naming import queue_name as amqp_queue_name
from tomodachi.messaging.sns_sqs.attributes import decode, encode
from tomodachi.messaging.sns_sqs.naming import queue_name as sns_queue_name
from tomodachi.transport.amqp import AmqpTransport
from tomodachi.transport.aws_sns_sqs import AWSSNSSQSTransport

BUILT = "2023-08-01T00:00:00.000000Z"


@pytest.mark.parametrize(
    ("now", "words"),
    [
        ("2023-08-01T00:00:59.000000Z", "released just now"),
        ("2023-08-01T00:01:00.000000Z", "released 1 minute ago"),
        ("2023-08-01T00:59:59.000000Z", "released 59 minutes ago"),
        ("2023-08-01T02:00:00.000000Z", "released 2 hours ago"),
        ("2023-08-02T00:00:00.000000Z", "released 1 day ago"),
        ("2023-10-29T00:00:00.000000Z", "released 89 days ago"),
        ("2023-10-30T00:00:00.000000Z", "released 3 months ago"),
        ("2025-07-20T00:00:00.000000Z", "released 23 months ago"),
        ("2025-07-21T00:00:00.000000Z", "released over 2 years ago"),
        ("2026-08-01T00:00:00.000000Z", "released over 3 years ago"),
    ],
)
def test_time_since_build_in_words(now: str, words: str) -> None:
    assert get_time_since_build(now, BUILT) == words


def test_time_since_build_is_empty_without_a_build_time_or_for_unreadable_timestamps() -> None:
    assert tomodachi.__build_time__ is None
    assert get_time_since_build(None, None) == ""
    assert get_time_since_build("2025-09-01", BUILT) == ""
    assert get_time_since_build(None, BUILT).startswith("released")


def test_config_files_merge_in_order(tmp_path: Path) -> None:
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    first.write_text(json.dumps({"options": {"http": {"port": 1}}, "tags": ["a"]}))
    second.write_text(json.dumps({"options": {"http": {"access_log": True}}, "tags": ["b"]}))
    assert parse_config_files([str(first), str(second)]) == {
        "options": {"http": {"port": 1, "access_log": True}},
        "tags": ["a", "b"],
    }
    assert parse_config_files(str(first)) == json.loads(first.read_text())
    assert parse_config_files([]) is None


def test_banner_names_the_event_loop(capsys: Any) -> None:
    render_banner(service_files=["service.py"], use_execution_context=False)
    assert "\nevent loop             ⇢ asyncio\n" in capsys.readouterr().out


def test_banner_names_uvloop_with_its_version(capsys: Any) -> None:
    uvloop = pytest.importorskip("uvloop")
    loop = uvloop.new_event_loop()
    try:
        render_banner(service_files=[], loop=loop, use_execution_context=False)
    finally:
        loop.close()
    assert f"event loop             ⇢ uvloop (version: {uvloop.__version__})" in capsys.readouterr().out


def test_amqp_transport_class_names_queues_and_keys_as_our_transport_does() -> None:
    context = {"options": {"amqp": {"queue_name_prefix": "q-", "routing_key_prefix": "rk-"}}}
    uuid = "5d0b530f-5c44-4981-b01f-342801bd48f5"
    for competing in (False, True):
        assert AmqpTransport.get_queue_name("a.b", "func", uuid, competing, context) == amqp_queue_name(
            "a.b", "func", uuid, competing=competing, prefix="q-"
        )
    assert AmqpTransport.get_queue_name("a.b", "f", uuid, False, {}) != AmqpTransport.get_queue_name(
        "a.b", "g", uuid, False, {}
    )
    assert AmqpTransport.get_routing_key("a.b", context) == "rk-a.b"
    assert AmqpTransport.get_routing_key("a.b", {}) == "a.b"
    assert AmqpTransport.get_routing_key_without_prefix("rk-a.b", context) == "a.b"
    assert AmqpTransport.decode_routing_key(AmqpTransport.encode_routing_key("a.b c")) == "a.b c"


def test_sns_sqs_transport_class_names_topics_and_queues_as_our_transport_does() -> None:
    context = {"options": {"aws_sns_sqs": {"topic_prefix": "t-", "queue_name_prefix": "q-"}}}
    uuid = "5d0b530f-5c44-4981-b01f-342801bd48f5"
    assert AWSSNSSQSTransport.get_topic_name("orders", context, fifo=True) == "t-orders.fifo"
    assert AWSSNSSQSTransport.get_topic_name("orders", {}) == "orders"
    assert AWSSNSSQSTransport.decode_topic(AWSSNSSQSTransport.encode_topic("a.b.fifo")) == "a.b.fifo"
    for competing in (False, True):
        assert AWSSNSSQSTransport.get_queue_name("orders", "f", uuid, competing, context) == sns_queue_name(
            "orders", "f", uuid, competing=competing, queue_name_prefix="q-"
        )
    with pytest.raises(ValueError, match="#"):
        AWSSNSSQSTransport.validate_topic_name("#")
    with pytest.raises(ValueError, match="too long"):
        AWSSNSSQSTransport.validate_queue_name("x" * 81)
    assert AWSSNSSQSTransport.validate_topic_name("abcd") is None


def test_sns_sqs_transport_class_converts_message_attributes_both_ways() -> None:
    attributes = {"text": "hello", "count": 4711, "ratio": 1.5, "blob": b"\x00\x01"}
    wire = AWSSNSSQSTransport.transform_message_attributes_to_botocore(attributes)
    assert wire == encode(attributes)
    assert AWSSNSSQSTransport.transform_message_attributes_from_response(wire) == decode(wire) == attributes
    notification = AWSSNSSQSTransport.transform_message_attributes_to_message_body_metadata(attributes)
    assert notification["count"] == {"Type": "Number", "Value": "4711"}


async def test_transport_class_publish_is_our_publish(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[Any, ...]] = []

    async def fake_publish(service: Any, data: Any, destination: str, **kwargs: Any) -> str:
        calls.append((service, data, destination, kwargs))
        return "id"

    monkeypatch.setattr("tomodachi.messaging.amqp.api.amqp_publish", fake_publish)
    monkeypatch.setattr("tomodachi.messaging.sns_sqs.api.aws_sns_sqs_publish", fake_publish)
    service = object()
    assert await AmqpTransport.publish(service, {"a": 1}, "rk", wait=True) == "id"
    assert await AWSSNSSQSTransport.publish(service, "data", "topic", wait=False) == "id"
    assert calls == [(service, {"a": 1}, "rk", {"wait": True}), (service, "data", "topic", {"wait": False})]


def test_envelope_messages_at_upstreams_generated_module_path() -> None:
    pytest.importorskip("google.protobuf")
    from tomodachi.envelope._sns_sqs_message import message_classes
    from tomodachi.envelope.proto_build.protobuf import sns_sqs_message_pb2
    from tomodachi.envelope.proto_build.protobuf.sns_sqs_message_pb2 import Metadata, Service, SNSSQSMessage

    built = message_classes()
    assert (SNSSQSMessage, Service, Metadata) == (built["SNSSQSMessage"], built["Service"], built["Metadata"])
    message = SNSSQSMessage()
    message.metadata.topic = "orders"
    assert SNSSQSMessage.FromString(message.SerializeToString()).metadata.topic == "orders"
    with pytest.raises(AttributeError):
        sns_sqs_message_pb2.Other  # noqa: B018
