"""What a message costs less to build and keep with stays what it was: JsonBase's per-service and per-topic text
is made once and reused, message ids drawn from a batch of randomness stay unique across a fork, and the memory
broker's publish records share their route without sharing a list anyone could change."""

from __future__ import annotations

import json
import os
import sys
from types import SimpleNamespace
from typing import Any

import pytest

from tomodachi.envelope import JsonBase, json_base
from tomodachi.envelope._codec import uuid4_text
from tomodachi.messaging.amqp.descriptors import AmqpProperties, AmqpPublication
from tomodachi.messaging.amqp.memory import MemoryAmqpBroker


def _envelope(text: str) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(text)
    return parsed


async def test_each_service_and_topic_gets_its_own_envelope_text_when_reused() -> None:
    first = SimpleNamespace(name="orders", uuid="u-1")
    second = SimpleNamespace(name='or"ders', uuid="u-2")
    for _ in range(2):  # the second round reads the remembered text
        for service in (first, second):
            for topic in ("order.created", "order.\u00e9"):
                built = _envelope(await JsonBase.build_message(service, topic, {"n": 1}))
                assert built["service"] == {"name": service.name, "uuid": service.uuid}
                assert built["metadata"]["topic"] == topic
                assert built["metadata"]["message_uuid"].startswith(f"{service.uuid}.")


async def test_envelopes_stay_right_once_no_more_services_are_remembered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(json_base, "_HEADS", {})
    monkeypatch.setattr(json_base, "_TOPICS", {})
    monkeypatch.setattr(json_base, "_CACHED", 2)
    for n in range(5):
        service = SimpleNamespace(name=f"service-{n}", uuid=f"uuid-{n}")
        built = _envelope(await JsonBase.build_message(service, f"topic-{n}", n))
        assert (built["service"]["name"], built["metadata"]["topic"], built["data"]) == (service.name, f"topic-{n}", n)
    assert len(json_base._HEADS) == 2 and len(json_base._TOPICS) == 2


async def test_services_whose_name_or_uuid_is_not_text_are_not_mixed_up() -> None:
    for name, service_uuid in ((1, "x"), (True, "x"), ("1", "x"), (None, None), ("n", None)):
        service = SimpleNamespace(name=name, uuid=service_uuid)
        built = _envelope(await JsonBase.build_message(service, "t", None))
        assert built["service"]["name"] == name and type(built["service"]["name"]) is type(name)
        assert built["service"]["uuid"] == service_uuid
        assert built["metadata"]["message_uuid"].startswith(f"{service_uuid if service_uuid is not None else ''}.")


@pytest.mark.skipif(not hasattr(os, "fork") or sys.platform == "darwin", reason="needs fork")
def test_a_forked_child_draws_message_ids_of_its_own() -> None:
    uuid4_text()  # the parent holds a batch of ids not handed out yet
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report its next ids and leave at once
        os.close(reader)
        os.write(writer, " ".join(uuid4_text() for _ in range(3)).encode())
        os._exit(0)
    os.close(writer)
    with os.fdopen(reader) as pipe:
        child = set(pipe.read().split())
    os.waitpid(pid, 0)
    parent = {uuid4_text() for _ in range(3)}
    assert len(child) == 3 and not child & parent


def test_publish_records_of_one_route_do_not_share_a_changeable_list() -> None:
    broker = MemoryAmqpBroker()
    broker.declare_queue("first")
    broker.bind("first", "amq.topic", "orders.*")
    for n in range(2):
        broker.publish_now(AmqpPublication("amq.topic", "orders.created", b"{}", AmqpProperties(message_id=str(n))))
    first, second = broker.published
    first.routed_to.append("elsewhere")
    assert first.routed_to == second.routed_to == ["first"]
