"""RabbitMQ drops the service's connection in the middle of a stream: it reconnects, resumes consuming, and
every message is handled at least once (publishes made meanwhile wait for the new connection)."""

from __future__ import annotations

import asyncio

from amqp_support import Counter, Names, close_all_connections

import tomodachi
from tomodachi.messaging.amqp.real import RealAmqpBroker
from tomodachi.testing.harness import ServiceHarness

TOTAL = 1000


async def test_connection_closed_by_broker_mid_stream_loses_nothing(real_harness: ServiceHarness, names: Names) -> None:
    seen = Counter()
    gate = asyncio.Event()  # holds the first deliveries in flight (unacked) while the connection dies

    class Stream(tomodachi.Service):
        name = "stream"
        message_envelope = None  # raw: no message uuid, so redeliveries are not deduplicated and stay visible

        @tomodachi.amqp("stream.item", queue_name="stream")
        async def handler(self, body: str) -> None:
            seen.add(int(body))
            await gate.wait()

    svc = await real_harness.start(Stream, options=names.options(**{"amqp.qos.queue_prefetch_count": 50}))
    broker = real_harness.environment.brokers()[0]
    assert isinstance(broker, RealAmqpBroker) and broker.connections_made == 1

    async def publish(numbers: range) -> None:
        await asyncio.gather(
            *(tomodachi.amqp_publish(svc.instance, str(n), routing_key="stream.item") for n in numbers)
        )

    await publish(range(0, TOTAL // 2))
    await seen.wait_count(50, "a full prefetch window in flight")
    await close_all_connections("integration test")
    # published while the connection is down: they wait for the reconnect, none vanish
    second_half = asyncio.create_task(publish(range(TOTAL // 2, TOTAL)))
    gate.set()  # in-flight handlers finish now; their acks go nowhere, so RabbitMQ redelivers those messages
    await asyncio.wait_for(second_half, 30)

    await seen.wait_until(lambda items: set(items) == set(range(TOTAL)), f"all {TOTAL} messages", timeout=30)
    assert broker.connections_made >= 2
    assert len(seen.items) >= TOTAL + 50, "the messages in flight at the cut were not redelivered"

    # still alive and consuming on the new connection
    await tomodachi.amqp_publish(svc.instance, "-1", routing_key="stream.item")
    await seen.wait_until(lambda items: -1 in items, "a message published after the reconnect")
    assert svc.container.instance is not None
