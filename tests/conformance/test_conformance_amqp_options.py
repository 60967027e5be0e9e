"""AMQP options, envelopes and error policies as a real service uses them, on the in-memory RabbitMQ and on a
real one (``--tomodachi-wire=real``): routing-key and queue-name prefixes, a decorator's own exchange, a
decorator's ``max_receive_count``, parse errors and the upstream error policy.

Each scenario asserts the same thing on both wires (no difference was found in this round: both pass).
"""

from __future__ import annotations

from typing import Any

import tomodachi
from tests.conformance.kit import REAL_WAIT, LetTimePass
from tomodachi.envelope import JsonBase
from tomodachi.messaging.amqp.descriptors import AmqpProperties
from tomodachi.messaging.pipeline import ErrorPolicy
from tomodachi.testing import FakeAmqp, ServiceFactory

PREFIXES = {"amqp.routing_key_prefix": "pfx.", "amqp.queue_name_prefix": "svc-"}
RETRY_AFTER_200_MS = ErrorPolicy(max_attempts=2, initial_delay=0.2, multiplier=1.0, max_delay=0.2)


# ---- prefixes and a decorator's own exchange ----------------------------------------------------------------


class PrefixedProducer(tomodachi.Service):
    name = "options-producer"
    message_envelope = JsonBase

    @tomodachi.amqp("options.trigger", queue_name="options-trigger")
    async def trigger(self, data: str) -> None:
        await tomodachi.amqp_publish(self, data, routing_key="options.event")
        await tomodachi.amqp_publish(self, data, routing_key="options.custom", exchange_name="options-custom")


class PrefixedConsumer(tomodachi.Service):
    name = "options-consumer"
    message_envelope = JsonBase
    message_error_policy = RETRY_AFTER_200_MS

    @tomodachi.amqp("options.event", queue_name="options-events", max_receive_count=1)
    async def event(self, data: str, routing_key: str, exchange_name: str, properties: AmqpProperties) -> None:
        if data == "fail":
            raise RuntimeError("event fails")

    @tomodachi.amqp("options.custom", exchange_name="options-custom", queue_name="options-customs")
    async def custom(self, data: str, routing_key: str, exchange_name: str) -> None:
        pass


async def test_prefixed_services_publish_and_consume_with_the_prefix_and_handlers_see_keys_without_it(
    tomodachi_service: ServiceFactory, fake_amqp: FakeAmqp
) -> None:
    consumer = await tomodachi_service(PrefixedConsumer, options=PREFIXES)
    await tomodachi_service(PrefixedProducer, options=PREFIXES)
    # the test publishes with the key on the wire: the services bind encode(routing_key_prefix + key)
    await fake_amqp.publish("pfx.options.trigger", "ok")
    await fake_amqp.settle()
    await consumer.wait_for_call("event", timeout=REAL_WAIT)
    await consumer.wait_for_call("custom", timeout=REAL_WAIT)
    await fake_amqp.publish("pfx.options.trigger", "fail")
    await fake_amqp.settle()
    await consumer.wait_for_call("event", count=2, timeout=REAL_WAIT)
    await consumer.wait_for_call("custom", count=2, timeout=REAL_WAIT)
    await fake_amqp.settle()

    seen = [(c.data, c.arguments["routing_key"], c.arguments["exchange_name"]) for c in consumer.calls("event")]
    assert seen == [("ok", "options.event", "amq.topic"), ("fail", "options.event", "amq.topic")]
    custom = [(c.data, c.arguments["routing_key"], c.arguments["exchange_name"]) for c in consumer.calls("custom")]
    assert custom == [("ok", "options.custom", "options-custom"), ("fail", "options.custom", "options-custom")]
    properties = consumer.calls("event")[0].arguments["properties"]
    assert (properties.content_type, properties.delivery_mode, properties.headers) == ("application/json", 2, {})
    # the records name the key as it went on the wire, prefix included
    published = [(p.destination, p.exchange_name) for p in fake_amqp.published()]
    assert (
        published
        == [
            ("pfx.options.trigger", "amq.topic"),
            ("pfx.options.event", "amq.topic"),
            ("pfx.options.custom", "options-custom"),
        ]
        * 2
    )
    assert [str(exc) for exc in consumer.take_errors()] == ["event fails"]
    [dead] = fake_amqp.take_dead_letters()  # max_receive_count=1 in the decorator: no retry
    assert (dead.queue, dead.dead_letter_queue, dead.handler) == (
        "svc-options-events",
        "svc-options-events.dlq",
        "options-consumer.event",
    )
    assert (dead.reason, dead.receive_count, dead.kept) == (
        "handler event failed 1 time(s): RuntimeError: event fails",
        1,
        True,
    )


# ---- parse errors and the two error policies ----------------------------------------------------------------


class Strict(tomodachi.Service):
    name = "options-strict"
    message_envelope = JsonBase
    message_error_policy = RETRY_AFTER_200_MS

    @tomodachi.amqp("options.strict", queue_name="options-strict")
    async def handle(self, data: Any) -> None:
        raise RuntimeError("strict fails")


class Upstream(tomodachi.Service):
    name = "options-upstream"
    message_envelope = JsonBase
    message_error_policy = "upstream"

    @tomodachi.amqp("options.upstream", queue_name="options-upstream")
    async def handle(self, data: Any) -> None:
        raise RuntimeError("upstream fails")


async def test_a_parse_error_is_dead_lettered_at_once_and_upstream_drops_what_fails(
    tomodachi_service: ServiceFactory, fake_amqp: FakeAmqp, let_time_pass: LetTimePass
) -> None:
    strict = await tomodachi_service(Strict)
    upstream = await tomodachi_service(Upstream)
    await fake_amqp.publish("options.strict", "not an envelope", envelope=None)
    await fake_amqp.publish("options.upstream", "not an envelope", envelope=None)
    await fake_amqp.publish("options.upstream", "x")
    await fake_amqp.publish("options.strict", "x")
    await fake_amqp.settle()
    await let_time_pass(0.2)
    await strict.wait_for_call("handle", count=2, timeout=REAL_WAIT)
    await fake_amqp.settle()

    assert [str(exc) for exc in strict.take_errors()] == ["strict fails"] * 2
    assert [str(exc) for exc in upstream.take_errors()] == ["upstream fails"]
    assert len(upstream.calls("handle")) == 1  # dropped, never retried
    parse = "unable to parse message: JSONDecodeError: Expecting value: line 1 column 1 (char 0)"
    dead = sorted(
        (d.queue, d.dead_letter_queue, d.reason, d.receive_count, d.kept, d.payload[:15])
        for d in fake_amqp.take_dead_letters()
    )
    assert dead == [
        ("options-strict", "options-strict.dlq", "handler handle failed 2 time(s): RuntimeError: strict fails", 2,
         True, b'{"service": {"n'),
        ("options-strict", "options-strict.dlq", parse, 1, True, b"not an envelope"),
        ("options-upstream", None, "dropped after handler error (message_error_policy='upstream'): RuntimeError: "
         "upstream fails", 1, False, b'{"service": {"n'),
        ("options-upstream", None, f"dropped: {parse}", 1, False, b"not an envelope"),
    ]  # fmt: skip
