"""Publisher confirms on RabbitMQ: pipelined, re-published after a cut, failing the handler when refused, never hanging
with concurrent publishers, awaited (or reported) at close; ``publisher_confirms=False`` is fire-and-forget."""

from __future__ import annotations

import asyncio
import logging
import socket
import uuid
from dataclasses import replace
from typing import Any

import pytest
from amqp_support import AMQP_HOST, AMQP_PORT, Counter, Names, Probe

import tomodachi
from tomodachi.envelope import JsonBase
from tomodachi.messaging.amqp.connection import AmqpLink
from tomodachi.messaging.amqp.descriptors import AmqpProperties, AmqpPublication
from tomodachi.messaging.amqp.exceptions import AmqpChannelClosed
from tomodachi.messaging.amqp.real import RealAmqpBroker
from tomodachi.messaging.amqp.settings import AmqpSettings
from tomodachi.messaging.pipeline import ErrorPolicy
from tomodachi.messaging.publish_scope import UnconfirmedPublishError, publish_scope
from tomodachi.runtime.clock import RealClock
from tomodachi.testing.harness import ServiceHarness


class Sink(tomodachi.Service):
    name = "sink"
    message_envelope = None  # raw bodies: every copy stays visible (no de-duplication by message uuid)
    seen: Counter

    @tomodachi.amqp("confirms.item", queue_name="sink")
    async def handler(self, body: str) -> None:
        type(self).seen.add(body)


async def start_sink(harness: ServiceHarness, names: Names, **options: Any) -> tuple[Any, RealAmqpBroker, Counter]:
    seen = Counter()
    service = type("Sink", (Sink,), {"seen": seen})
    handle = await harness.start(service, options=names.options(**options))
    [broker] = harness.environment.brokers()
    assert isinstance(broker, RealAmqpBroker)
    return handle, broker, seen


def publication(routing_key: str, body: bytes, exchange: str = "") -> AmqpPublication:
    return AmqpPublication(exchange, routing_key, body, AmqpProperties(message_id=uuid.uuid4().hex, delivery_mode=2))


async def test_unconfirmed_publishes_are_republished_when_the_connection_drops(
    real_harness: ServiceHarness, names: Names
) -> None:
    svc, broker, seen = await start_sink(real_harness, names)
    await tomodachi.amqp_publish(svc.instance, "first", routing_key="confirms.item")  # reaches the exchange
    expected = {str(n) for n in range(500)}
    for body in sorted(expected):  # pipelined: none of these has yielded to read a confirm yet
        await tomodachi.amqp_publish(svc.instance, body, routing_key="confirms.item")
    assert broker.publisher.unconfirmed == 500
    assert broker._link is not None
    broker._link.transport.abort()  # a network cut: what was still buffered is gone too

    await seen.wait_until(lambda items: expected <= set(items), "all 500 messages after the reconnect", timeout=30)
    assert broker.connections_made >= 2
    assert broker.failed_publications == []
    assert broker.publisher.unconfirmed == 0


async def test_a_handler_whose_publish_is_refused_is_retried_then_dead_lettered_never_acked(
    real_harness: ServiceHarness, names: Names, probe: Probe
) -> None:
    full = f"{names.queue_prefix}full"
    channel = await probe.ensure()
    await channel.exchange_declare(names.exchange, "topic", durable=True)
    # RabbitMQ refuses (nacks) every message routed to a queue that may hold none
    await channel.queue_declare(full, durable=True, arguments={"x-max-length": 0, "x-overflow": "reject-publish"})
    await channel.queue_bind(full, names.exchange, "audit.full")
    calls = Counter()

    class Relay(tomodachi.Service):
        name = "relay"
        message_envelope = JsonBase
        message_error_policy = ErrorPolicy(max_attempts=2, initial_delay=0.1)

        @tomodachi.amqp("work.in", queue_name="relay")
        async def handler(self, data: Any) -> None:
            calls.add(data)
            await tomodachi.amqp_publish(self, data, routing_key="audit.full")  # returns before the nack

    try:
        svc = await real_harness.start(Relay, options=names.options())
        svc.expect_errors(UnconfirmedPublishError)
        [broker] = real_harness.environment.brokers()
        await tomodachi.amqp_publish(svc.instance, "warm-up", routing_key="audit.nowhere")
        await tomodachi.amqp_publish(svc.instance, {"order": 1}, routing_key="work.in")

        body, properties = await probe.get(f"{names.queue_prefix}relay.dlq")
        assert calls.items == [{"order": 1}, {"order": 1}]  # retried, then dead-lettered: never acked as done
        reason = properties.headers["x-tomodachi-dead-letter-reason"]
        assert "UnconfirmedPublishError" in reason and "nack" in reason
        refused = broker.failed_publications
        assert [p.routing_key for p in refused] == ["audit.full", "audit.full"] and all(p.message_id for p in refused)
        assert await probe.message_count(f"{names.queue_prefix}relay") == 0
        real_harness.fake("amqp").take_dead_letters()
    finally:
        channel = await probe.ensure()
        await channel.queue_delete(full)


async def test_twenty_concurrent_publishers_do_not_hang_and_every_message_arrives(
    real_harness: ServiceHarness, names: Names
) -> None:
    svc, broker, seen = await start_sink(real_harness, names)
    broker.publisher.limit = 25  # a small window: publishers also wait for room

    async def publisher(k: int) -> None:
        async with publish_scope():  # each waits for its confirms, as a handler does
            for n in range(100):
                await tomodachi.amqp_publish(svc.instance, f"{k}-{n}", routing_key="confirms.item")

    await asyncio.wait_for(asyncio.gather(*(publisher(k) for k in range(20))), 30)
    expected = {f"{k}-{n}" for k in range(20) for n in range(100)}
    await seen.wait_until(lambda items: set(items) == expected, "all 2,000 messages", timeout=30)
    assert broker.publisher.unconfirmed == 0 and broker.failed_publications == []


async def test_concurrent_publishes_on_a_confirm_channel_all_get_their_confirm(rabbitmq: tuple[str, int]) -> None:
    """aioamqp alone hangs here: RabbitMQ confirms several publishes with one ``multiple`` ack, and aioamqp only
    resolves the future of that ack's own delivery tag — the others wait forever."""
    link = await AmqpLink.open(AmqpSettings(host=AMQP_HOST, port=AMQP_PORT), RealClock(), 10)
    queue = f"itest-{uuid.uuid4().hex[:10]}-multiple"
    try:
        control = await link.channel("control")
        await control.queue_declare(queue, durable=False, auto_delete=True)
        channel = await link.channel("publish")

        async def publisher() -> None:
            for _ in range(50):
                await channel.publish(b"x" * 99, "", queue, properties={"delivery_mode": 2})

        await asyncio.wait_for(asyncio.gather(*(publisher() for _ in range(20))), 30)
    finally:
        await link.close()


async def test_publisher_confirms_off_publishes_fire_and_forget(real_harness: ServiceHarness, names: Names) -> None:
    svc, broker, seen = await start_sink(real_harness, names, **{"amqp.publisher_confirms": False})
    expected = {str(n) for n in range(300)}
    for body in sorted(expected):
        await tomodachi.amqp_publish(svc.instance, body, routing_key="confirms.item")
    assert broker.publisher.unconfirmed == 0  # nothing waits for a confirm
    assert broker._link is not None
    plain = broker._link.current_channel("unconfirmed")
    assert plain is not None and not plain.publisher_confirms
    await seen.wait_until(lambda items: set(items) == expected, "all 300 messages")
    assert broker.failed_publications == []


@pytest.mark.parametrize("confirms", [True, False])
async def test_a_publish_to_a_missing_exchange_still_raises_at_the_call(names: Names, confirms: bool) -> None:
    settings = AmqpSettings(host=AMQP_HOST, port=AMQP_PORT, publisher_confirms=confirms)
    broker = RealAmqpBroker(settings, RealClock(), publish_timeout=5)
    try:
        with pytest.raises(AmqpChannelClosed) as refused:  # amq.* exchanges cannot be created by a publish
            await broker.publish(publication("k", b"x", exchange=f"amq.{names.run_id}-missing"))
        assert refused.value.code == 404
        # the connection is still usable
        assert await broker.publish(publication("nowhere", b"x", exchange="amq.topic"))
    finally:
        await broker.close()


@pytest.mark.parametrize("cut", [False, True], ids=["connected", "connection-cut"])
async def test_closing_the_broker_waits_for_unconfirmed_publishes(names: Names, probe: Probe, cut: bool) -> None:
    queue = f"{names.queue_prefix}close"
    channel = await probe.ensure()
    await channel.queue_declare(queue, durable=True)
    settings = AmqpSettings(host=AMQP_HOST, port=AMQP_PORT)
    broker = RealAmqpBroker(settings, RealClock(), publish_timeout=10, reconnect_delays=(0.1,))
    try:
        for n in range(301):
            await broker.publish(publication(queue, str(n).encode()))
        assert broker.publisher.unconfirmed == 300  # all but the first, which reached the exchange
        if cut:  # the shutdown itself reconnects and publishes them again
            assert broker._link is not None
            broker._link.transport.abort()
        await asyncio.wait_for(broker.close(), 15)
        assert broker.publisher.unconfirmed == 0 and broker.failed_publications == []
        assert await probe.message_count(queue) >= 301  # at least once: a cut may leave duplicates
    finally:
        await probe.delete({queue}, set())


async def test_publishes_that_can_never_be_confirmed_are_logged_and_recorded(
    names: Names, probe: Probe, caplog: pytest.LogCaptureFixture
) -> None:
    queue = f"{names.queue_prefix}lost"
    channel = await probe.ensure()
    await channel.queue_declare(queue, durable=True)
    with socket.socket() as spare:  # a port nobody listens on: the reconnect can never succeed
        spare.bind(("127.0.0.1", 0))
        dead_port = spare.getsockname()[1]
    settings = AmqpSettings(host=AMQP_HOST, port=AMQP_PORT)
    broker = RealAmqpBroker(settings, RealClock(), publish_timeout=1, connect_timeout=1, reconnect_delays=(0.1,))
    try:
        await broker.publish(publication(queue, b"confirmed"))
        sent = [publication(queue, str(n).encode()) for n in range(20)]
        for item in sent:
            await broker.publish(item)
        assert broker.publisher.unconfirmed == 20
        broker.settings = replace(settings, port=dead_port)
        assert broker._link is not None
        broker._link.transport.abort()
        with caplog.at_level(logging.ERROR, logger="tomodachi.amqp"):
            await asyncio.wait_for(broker.close(), 10)
        lost = broker.failed_publications
        assert [(p.message_id, p.routing_key) for p in lost] == [(i.properties.message_id, queue) for i in sent]
        # the framework's key-value fields travel on the record's structured message
        logged = {getattr(r.msg, "fields", {}).get("message_id") for r in caplog.records if r.levelno == logging.ERROR}
        assert {i.properties.message_id for i in sent} <= logged
    finally:
        await probe.delete({queue}, set())
