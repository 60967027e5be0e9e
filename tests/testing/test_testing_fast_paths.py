"""The shortcuts that make a test's system start and its messages flow cheaper keep every observable result: what a
freeze skips, routes after new bindings, the records of a publish, the virtual time they carry."""

from __future__ import annotations

import dataclasses
import inspect
import sys
import types
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

import tomodachi
from tomodachi.envelope import JsonBase
from tomodachi.messaging.amqp.descriptors import AmqpProperties, AmqpPublication, AmqpSubscription
from tomodachi.messaging.amqp.memory import MemoryAmqpBroker
from tomodachi.messaging.broker import Delivery
from tomodachi.testing import VirtualClock, system
from tomodachi.testing.freeze_scope import ignored_modules
from tomodachi.testing.records import PublishedMessage, published_message

FAKE_MODULE = "tomodachi_tests_testing_transport"  # the stand-in transport this folder's conftest registers


@pytest.fixture
def probed_framework(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every attribute looked up on the ``tomodachi`` package through its lazy module ``__getattr__`` (which
    imports a submodule), with one more lazy name listed by ``dir()``."""
    looked_up: list[str] = []
    lazy = tomodachi.__getattr__

    def recording(name: str) -> Any:
        looked_up.append(name)
        if name == "_freeze_probe":
            return None
        return lazy(name)

    listing = tomodachi.__dir__
    monkeypatch.setattr(tomodachi, "__getattr__", recording)
    monkeypatch.setattr(tomodachi, "__dir__", lambda: [*listing(), "_freeze_probe"])
    return looked_up


def test_a_freeze_reads_no_attribute_of_a_package_it_skips(
    probed_framework: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The framework's own package is skipped by its bare name: a freeze no longer lists its attributes, which
    imported every lazily loaded part of it (CLI, launcher, structlog …) on a test's first freeze."""
    monkeypatch.delitem(sys.modules, FAKE_MODULE)  # this folder's stand-in transport is named like the framework
    if any(name != "tomodachi" and name.startswith("tomodachi") and "." not in name for name in sys.modules):
        pytest.skip("a module named like the framework is loaded: the package is scanned, as it must be")
    assert "tomodachi" in ignored_modules()
    with VirtualClock(start=datetime(2001, 2, 3)):
        pass
    assert probed_framework == []


@pytest.fixture
def lookalike() -> Iterator[types.ModuleType]:
    """A user module whose name starts like the framework's, reading the wall clock through a name it imported."""
    module = types.ModuleType("tomodachi_lookalike_app")
    exec("from datetime import datetime\ndef now():\n    return datetime.now()\n", module.__dict__)
    sys.modules[module.__name__] = module
    yield module
    del sys.modules[module.__name__]


def test_a_module_named_like_a_skipped_package_is_still_frozen(lookalike: types.ModuleType) -> None:
    prefixes = ignored_modules()
    assert "tomodachi" not in prefixes and "tomodachi." in prefixes
    assert not lookalike.__name__.startswith(prefixes)
    with VirtualClock(start=datetime(2001, 2, 3, 4, 5, 6)):
        assert lookalike.now().year == 2001


def test_skipped_packages_lead_with_those_covering_most_modules() -> None:
    prefixes = ignored_modules()
    bare = [p for p in prefixes if not p.endswith(".")]
    counts = [sum(1 for name in sys.modules if name.partition(".")[0] == top) for top in bare]
    assert counts == sorted(counts, reverse=True)
    assert all(name.startswith(prefixes) for name in ("asyncio.events", "json.decoder", "tomodachi.testing"))


async def test_a_queue_bound_after_a_publish_gets_the_next_publish() -> None:
    """Routes are remembered per exchange and key, and forgotten when queues or bindings change."""
    broker = MemoryAmqpBroker()
    publication = AmqpPublication("amq.topic", "orders.created", b"{}", AmqpProperties(message_id="m"))
    await broker.publish(publication)
    assert broker.published[-1].routed_to == []
    await broker.declare(AmqpSubscription("amq.topic", "orders.*", "first", competing=True))
    await broker.publish(publication)
    assert broker.published[-1].routed_to == ["first"]
    broker.declare_queue("second")
    broker.bind("second", "amq.topic", "#")
    await broker.publish(publication)
    assert broker.published[-1].routed_to == ["first", "second"]
    assert broker.queue_depth("first") == 2 and broker.queue_depth("second") == 1


def test_a_published_record_built_field_by_field_equals_the_dataclass() -> None:
    fields = [f.name for f in dataclasses.fields(PublishedMessage)]
    assert list(inspect.signature(published_message).parameters) == fields
    values: dict[str, Any] = {
        "bus": "amqp",
        "kind": "amqp",
        "destination": "orders.created",
        "payload": b'{"a": 1}',
        "attributes": {"h": "1"},
        "message_id": "test-1",
        "time": datetime(2024, 1, 1, tzinfo=timezone.utc),
        "delivered_to": ("q",),
        "exchange_name": "amq.topic",
        "group_id": None,
        "deduplication_id": None,
    }
    made = published_message(**values)
    assert made == PublishedMessage(**values)
    assert repr(made) == repr(PublishedMessage(**values)) and made.data == {"a": 1}
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.destination = "x"  # type: ignore[misc]
    short = published_message("amqp", "amqp", "k", b"1", {}, "m", values["time"])
    assert short == PublishedMessage("amqp", "amqp", "k", b"1", {}, "m", values["time"])


class Sink(tomodachi.Service):
    name = "sink"
    message_envelope = JsonBase

    def __init__(self) -> None:
        self.received: list[Any] = []

    @tomodachi.amqp("fast.key")
    async def handle(self, data: Any, routing_key: str, message_uuid: str) -> None:
        self.received.append((data, routing_key, message_uuid))


async def test_records_and_calls_carry_the_virtual_time_they_happened_at() -> None:
    async with system(Sink) as shop:
        fake, sink = shop.fake_amqp, shop.service("sink")
        first = await fake.publish("fast.key", {"n": 1})
        await shop.clock.advance(timedelta(minutes=5))
        second = await fake.publish("fast.key", {"n": 2})
        await shop.settle()
        assert second.time - first.time == timedelta(minutes=5)
        assert [call.time for call in sink.calls("handle")] == [first.time, second.time]
        assert [data for data, _, _ in sink.instance.received] == [{"n": 1}, {"n": 2}]
        assert {key for _, key, _ in sink.instance.received} == {"fast.key"}
        assert [uuid for _, _, uuid in sink.instance.received] == [
            m.metadata["message_uuid"] for m in fake.published("fast.key")
        ]


async def test_a_delivery_leaves_the_in_flight_list_when_its_handler_is_done() -> None:
    async with system(Sink) as shop:
        await shop.fake_amqp.publish("fast.key", {"n": 1})
        transports = shop.service("sink").container.transports.values()
        in_flight: list[Delivery] = [d for t in transports for d in getattr(t, "in_flight", list)()]
        assert len(in_flight) == 1 and in_flight[0].outcome is None
        await shop.settle()
        assert [d for t in transports for d in getattr(t, "in_flight", list)()] == []
        assert in_flight[0].outcome == "ack"
