"""Routing, fan-out vs competing consumers, and the routing key handlers see."""

from __future__ import annotations

from typing import Any

import pytest
from amqp_rig import PlainService, Rig

from tomodachi.envelope import JsonBase
from tomodachi.messaging.amqp.api import amqp
from tomodachi.messaging.amqp.exceptions import AmqpTooManyConsumersException
from tomodachi.messaging.amqp.memory_records import topic_matches


@pytest.mark.parametrize(
    ("pattern", "key", "expected"),
    [
        ("a.b", "a.b", True),
        ("a.*", "a.b", True),
        ("a.*", "a.b.c", False),
        ("a.*", "a", False),
        ("a.#", "a", True),
        ("a.#", "a.b.c", True),
        ("#", "", True),
        ("#", "x.y", True),
        ("*.b.#", "a.b", True),
        ("*.b.#", "b", False),
        ("a.#.z", "a.z", True),
        ("a.#.z", "a.b.c.z", True),
        ("a.#.z", "a.b.c", False),
    ],
)
def test_topic_matching(pattern: str, key: str, expected: bool) -> None:
    assert topic_matches(pattern, key) is expected


class Orders(PlainService):
    name = "orders"
    message_envelope = JsonBase

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[str, Any, str]] = []

    @amqp("order.*")
    async def one_word(self, data: Any, routing_key: str) -> None:
        self.seen.append(("one_word", data, routing_key))

    @amqp("order.#")
    async def any_words(self, data: Any, routing_key: str) -> None:
        self.seen.append(("any_words", data, routing_key))

    @amqp("order.created")
    async def exact(self, data: Any, routing_key: str) -> None:
        self.seen.append(("exact", data, routing_key))


async def test_wildcard_routing_and_delivered_routing_key(rig: Rig) -> None:
    service = Orders()
    await rig.start(service)
    await rig.publish("order.created", {"n": 1}, envelope=JsonBase)
    await rig.publish("order.eu.shipped", {"n": 2}, envelope=JsonBase)
    await rig.publish("invoice.created", {"n": 3}, envelope=JsonBase)
    await rig.fake.settle()

    assert sorted(service.seen, key=repr) == sorted(
        [
            ("one_word", {"n": 1}, "order.created"),
            ("any_words", {"n": 1}, "order.created"),
            ("exact", {"n": 1}, "order.created"),
            ("any_words", {"n": 2}, "order.eu.shipped"),
        ],
        key=repr,
    )
    assert rig.broker.published[-1].routed_to == []  # unroutable, dropped like RabbitMQ does


class FanA(PlainService):
    name = "fan-a"
    uuid = "uuid-a"
    message_envelope = JsonBase

    def __init__(self) -> None:
        super().__init__()
        self.got: list[Any] = []

    @amqp("event.happened")
    async def handler(self, data: Any) -> None:
        self.got.append(data)


class FanB(FanA):
    name = "fan-b"
    uuid = "uuid-b"


async def test_non_competing_handlers_each_get_every_message(rig: Rig) -> None:
    a, b = FanA(), FanB()
    await rig.start(a)
    await rig.start(b)
    for n in range(4):
        await rig.publish("event.happened", n, envelope=JsonBase)
    await rig.fake.settle()
    assert a.got == [0, 1, 2, 3]
    assert b.got == [0, 1, 2, 3]


class Worker(PlainService):
    message_envelope = JsonBase

    def __init__(self) -> None:
        super().__init__()
        self.got: list[Any] = []

    @amqp("job.created", competing=True)
    async def work(self, data: Any) -> None:
        self.got.append(data)


class WorkerOne(Worker):
    name = "worker"
    uuid = "w1"


class WorkerTwo(Worker):
    name = "worker"
    uuid = "w2"


async def test_competing_consumers_share_one_queue(rig: Rig) -> None:
    one, two = WorkerOne(), WorkerTwo()
    await rig.start(one)
    await rig.start(two)
    for n in range(10):
        await rig.publish("job.created", n, envelope=JsonBase)
    await rig.fake.settle()
    assert sorted(one.got + two.got) == list(range(10))
    assert one.got and two.got  # round-robin across both instances
    assert len(rig.broker.queue_names()) == 2  # the shared queue and its dead-letter queue


async def test_second_consumer_on_non_competing_queue_is_refused(rig: Rig) -> None:
    await rig.start(FanA())
    with pytest.raises(AmqpTooManyConsumersException):
        await rig.start(FanA())


class Named(PlainService):
    name = "named"
    message_envelope = JsonBase

    def __init__(self) -> None:
        super().__init__()
        self.got: list[Any] = []

    @amqp("x.y", exchange_name="custom.exchange", queue_name="my-queue")
    async def handler(self, data: Any, exchange_name: str) -> None:
        self.got.append((data, exchange_name))


async def test_custom_exchange_and_explicit_queue_name_with_prefixes(rig: Rig) -> None:
    service = Named()
    options = {"amqp": {"queue_name_prefix": "dev-", "routing_key_prefix": "env."}}
    await rig.start(service, options)
    assert "dev-my-queue" in rig.broker.queue_names()
    assert ("env.x.y", "dev-my-queue") in rig.broker.bindings("custom.exchange")
    await rig.publish("env.x.y", 1, envelope=JsonBase, exchange_name="custom.exchange")
    await rig.fake.settle()
    assert service.got == [(1, "custom.exchange")]
