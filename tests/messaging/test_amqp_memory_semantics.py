"""The in-memory RabbitMQ decides what RabbitMQ decides: what headers survive the wire, per-message expiration,
exchanges a publish creates, and the headers exchanges; the field tables we write keep a float's 64 bits."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import pamqp.decode
import pytest

from tomodachi.messaging.amqp.descriptors import AmqpProperties, AmqpPublication
from tomodachi.messaging.amqp.exceptions import AmqpChannelClosed
from tomodachi.messaging.amqp.memory import MemoryAmqpBroker
from tomodachi.messaging.amqp.wire import delivered_headers, field_table
from tomodachi.testing.clock import VirtualClock


def _broker(clock: VirtualClock) -> MemoryAmqpBroker:
    broker = MemoryAmqpBroker(clock=clock)
    broker.declare_queue("q")
    broker.bind("q", "amq.topic", "k")
    return broker


def test_a_field_table_keeps_every_float_as_a_64_bit_double_nested_ones_too() -> None:
    table = {"ratio": 0.1, "nested": {"third": 1 / 3}, "list": [0.2, {"x": 0.3}], "n": 7, "d": Decimal("1.5")}
    _, decoded = pamqp.decode.field_table(field_table(table))
    assert decoded == {"d": Decimal("1.5"), "list": [0.2, {"x": 0.3}], "n": 7, "nested": {"third": 1 / 3}, "ratio": 0.1}


def test_delivered_headers_are_what_the_wire_carries_or_a_type_error() -> None:
    when = datetime(2024, 5, 6, 7, 8, 9, 123456)
    assert delivered_headers({"b": "text", "a": when}) == {
        "a": datetime(2024, 5, 6, 7, 8, 9, tzinfo=timezone.utc),
        "b": "text",
    }
    for value in (b"raw", (1, 2), 2**64):
        with pytest.raises(TypeError):
            delivered_headers({"h": value})
    with pytest.raises(TypeError, match="header name"):
        delivered_headers({7: "seven"})


def test_an_expiration_that_is_no_number_of_milliseconds_is_refused_at_the_publish(virtual_clock: VirtualClock) -> None:
    broker = _broker(virtual_clock)
    with pytest.raises(AmqpChannelClosed) as refused:
        broker.publish_now(AmqpPublication("amq.topic", "k", b"{}", AmqpProperties(expiration="soon")))
    assert refused.value.code == 406
    assert broker.published == []


def test_a_publish_creates_the_topic_exchange_it_names_but_never_an_amq_one(virtual_clock: VirtualClock) -> None:
    broker = _broker(virtual_clock)
    broker.publish_now(AmqpPublication("audit", "k", b"{}"))
    assert broker.exchanges["audit"].type == "topic"
    with pytest.raises(AmqpChannelClosed) as refused:
        broker.publish_now(AmqpPublication("amq.nothing", "k", b"{}"))
    assert refused.value.code == 404


def test_the_headers_exchanges_exist_and_a_binding_without_arguments_gets_every_message(
    virtual_clock: VirtualClock,
) -> None:
    broker = _broker(virtual_clock)
    broker.bind("q", "amq.headers", "")
    broker.publish_now(AmqpPublication("amq.headers", "anything", b"{}"))
    broker.publish_now(AmqpPublication("amq.match", "anything", b"{}"))
    assert broker.queue_depth("q") == 1


async def test_a_queue_unused_for_longer_than_its_x_expires_is_deleted_with_its_messages(
    virtual_clock: VirtualClock,
) -> None:
    broker = MemoryAmqpBroker(clock=virtual_clock)
    broker.declare_queue("q", arguments={"x-expires": 1000})
    broker.bind("q", "amq.topic", "k")
    broker.publish_now(AmqpPublication("amq.topic", "k", b"waiting"))
    await virtual_clock.advance(0.999)  # just under the second: still there
    broker.declare_queue("q", arguments={"x-expires": 1000})  # declared again: a use, the second starts over
    await virtual_clock.advance(0.999)
    assert broker.queue_depth("q") == 1
    await virtual_clock.advance(0.002)
    broker.publish_now(AmqpPublication("amq.topic", "k", b"late"))  # finds the queue gone: unroutable
    assert "q" not in broker.queue_names()
    assert len(broker.declare_queue("q").messages) == 0  # declared anew, empty


async def test_a_channel_wide_prefetch_lets_one_message_of_all_the_channels_queues_run_at_once(
    virtual_clock: VirtualClock,
) -> None:
    from tomodachi.messaging.amqp.descriptors import AmqpSubscription

    broker = MemoryAmqpBroker(clock=virtual_clock)
    held: list[Any] = []
    for queue in ("a", "b"):
        subscription = AmqpSubscription(
            "amq.topic", queue, queue, True, prefetch_count=100, channel="svc", global_prefetch_count=1
        )
        await broker.declare(subscription)
        await broker.consume(subscription, held.append)
        broker.publish_now(AmqpPublication("amq.topic", queue, b"{}"))
    assert [d.metadata["queue_name"] for d in held] == ["a"]  # b waits for the channel's one unacked message
    await held[0].ack()
    assert [d.metadata["queue_name"] for d in held] == ["a", "b"]


async def test_a_prefetch_count_of_zero_sets_no_limit(virtual_clock: VirtualClock) -> None:
    from tomodachi.messaging.amqp.descriptors import AmqpSubscription

    broker = MemoryAmqpBroker(clock=virtual_clock)
    held: list[Any] = []
    subscription = AmqpSubscription("amq.topic", "k", "q", True, prefetch_count=0)
    await broker.declare(subscription)
    await broker.consume(subscription, held.append)
    for _ in range(150):
        broker.publish_now(AmqpPublication("amq.topic", "k", b"{}"))
    assert len(held) == 150
