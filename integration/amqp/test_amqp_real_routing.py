"""Services on a real RabbitMQ: wildcard routing, competing vs fan-out consumers, middleware, raw mode, a custom
envelope, and that ``amqp_publish`` goes through the service's own broker."""

from __future__ import annotations

import json
from typing import Any

from amqp_support import Counter, Names

import tomodachi
from tomodachi.envelope import JsonBase
from tomodachi.messaging.amqp.descriptors import AmqpProperties
from tomodachi.messaging.amqp.real import RealAmqpBroker
from tomodachi.testing.harness import ServiceHarness


async def test_wildcard_routing_delivers_by_pattern(real_harness: ServiceHarness, names: Names) -> None:
    seen = Counter()

    class Orders(tomodachi.Service):
        name = "orders"
        message_envelope = JsonBase

        @tomodachi.amqp("order.*.created")
        async def one_word(self, data: Any, routing_key: str) -> None:
            seen.add(("one_word", data, routing_key))

        @tomodachi.amqp("order.#")
        async def any_words(self, data: Any, routing_key: str) -> None:
            seen.add(("any_words", data, routing_key))

        @tomodachi.amqp("audit.exact")
        async def exact(self, data: Any, routing_key: str) -> None:
            seen.add(("exact", data, routing_key))

    svc = await real_harness.start(Orders, options=names.options())
    broker = real_harness.environment.brokers()[0]
    assert isinstance(broker, RealAmqpBroker)

    for key, data in [
        ("order.eu.created", 1),
        ("order.eu.x.created", 2),  # only order.#
        ("order", 3),  # order.# matches zero further words
        ("audit.exact", 4),
        ("audit.other", 5),  # nobody
        ("order.us.created", 6),  # last: FIFO per queue, so once seen the earlier ones were seen too
    ]:
        await tomodachi.amqp_publish(svc.instance, data, routing_key=key)

    await seen.wait_until(
        lambda items: ("one_word", 6, "order.us.created") in items and ("any_words", 6, "order.us.created") in items,
        "the last message on both wildcard handlers",
    )
    await seen.wait_until(lambda items: any(i[0] == "exact" for i in items), "the exact handler")  # type: ignore[index]
    assert sorted(i for i in seen.items if i[0] == "one_word") == [  # type: ignore[index]
        ("one_word", 1, "order.eu.created"),
        ("one_word", 6, "order.us.created"),
    ]
    assert sorted(i[1] for i in seen.items if i[0] == "any_words") == [1, 2, 3, 6]  # type: ignore[index]
    assert [i for i in seen.items if i[0] == "exact"] == [("exact", 4, "audit.exact")]  # type: ignore[index]


async def test_competing_consumers_share_and_fan_out_reaches_every_instance(
    real_harness: ServiceHarness, names: Names
) -> None:
    jobs = Counter()
    events = Counter()

    class Worker(tomodachi.Service):
        name = "worker"
        message_envelope = JsonBase

        @tomodachi.amqp("job.run", competing=True)
        async def job(self, data: Any) -> None:
            jobs.add((self.uuid, data))

        @tomodachi.amqp("event.happened")  # non-competing: one queue per instance
        async def event(self, data: Any) -> None:
            events.add((self.uuid, data))

    class OtherWorker(Worker):  # another process of the same service: the uuid is per class
        name = "worker-2"

    first = await real_harness.start(Worker, options=names.options())
    second = await real_harness.start(OtherWorker, options=names.options())
    assert first.instance.uuid != second.instance.uuid

    for n in range(20):
        await tomodachi.amqp_publish(first.instance, n, routing_key="job.run")
    for n in range(5):
        await tomodachi.amqp_publish(second.instance, n, routing_key="event.happened")

    await jobs.wait_count(20, "20 jobs")
    await events.wait_count(10, "5 events on each of 2 instances")
    assert sorted(data for _, data in jobs.items) == list(range(20))  # type: ignore[misc]
    assert {uuid for uuid, _ in jobs.items} == {first.instance.uuid, second.instance.uuid}  # type: ignore[misc]
    for handle in (first, second):
        assert sorted(d for u, d in events.items if u == handle.instance.uuid) == list(range(5))  # type: ignore[misc]


async def test_middleware_sees_delivered_values_and_can_override(real_harness: ServiceHarness, names: Names) -> None:
    seen = Counter()

    async def middleware(func: Any, service: Any, message: Any, routing_key: str, context: dict[str, Any]) -> Any:
        seen.add(("middleware", message["data"], routing_key))
        return await func(data={"overridden": message["data"]})

    class Svc(tomodachi.Service):
        name = "mw"
        message_envelope = JsonBase
        message_middleware = [middleware]

        @tomodachi.amqp("mw.#")
        async def handler(self, data: Any, routing_key: str, exchange_name: str, properties: Any) -> None:
            seen.add(("handler", data, routing_key, exchange_name, properties))

    svc = await real_harness.start(Svc, options=names.options())
    await tomodachi.amqp_publish(svc.instance, "hello", routing_key="mw.x")
    await seen.wait_count(2, "middleware and handler")
    assert seen.items[0] == ("middleware", "hello", "mw.x")
    _, data, routing_key, exchange_name, properties = seen.items[1]  # type: ignore[misc]
    assert (data, routing_key, exchange_name) == ({"overridden": "hello"}, "mw.x", names.exchange)
    assert isinstance(properties, AmqpProperties)
    assert properties.delivery_mode == 2 and properties.content_type == "application/json"
    assert properties.message_id


async def test_raw_mode_str_and_bytes(real_harness: ServiceHarness, names: Names) -> None:
    seen = Counter()

    class Raw(tomodachi.Service):
        name = "raw"

        @tomodachi.amqp("raw.#", message_envelope=None)
        async def handler(self, body: Any, message_uuid: Any) -> None:
            seen.add((body, message_uuid))

    svc = await real_harness.start(Raw, options=names.options())
    await tomodachi.amqp_publish(svc.instance, "plain text ✓", routing_key="raw.text")
    await tomodachi.amqp_publish(svc.instance, b"\xff\x00binary", routing_key="raw.bytes")
    await seen.wait_count(2, "two raw messages")
    assert seen.items == [("plain text ✓", None), (b"\xff\x00binary", None)]


class Reversed:
    """A custom envelope: JSON with the body reversed (nothing like JsonBase on the wire)."""

    @classmethod
    async def build_message(cls, service: Any, topic: str, data: Any, **kwargs: Any) -> str:
        return json.dumps({"id": f"{service.uuid}.{topic}", "payload": data})[::-1]

    @classmethod
    async def parse_message(cls, payload: str, **kwargs: Any) -> tuple[Any, Any, Any]:
        message = json.loads(payload[::-1])
        return {"payload": message["payload"], "flag": kwargs.get("flag")}, message["id"], None


async def test_custom_envelope_with_parser_kwargs(real_harness: ServiceHarness, names: Names) -> None:
    seen = Counter()

    class Custom(tomodachi.Service):
        name = "custom"
        message_envelope = Reversed

        @tomodachi.amqp("custom.x", flag="on")
        async def handler(self, payload: Any, flag: Any, message_uuid: Any) -> None:
            seen.add((payload, flag, message_uuid))

    svc = await real_harness.start(Custom, options=names.options())
    await tomodachi.amqp_publish(svc.instance, {"n": 1}, routing_key="custom.x")
    await seen.wait_count(1, "the custom-envelope message")
    assert seen.items == [({"n": 1}, "on", f"{svc.instance.uuid}.custom.x")]
