"""AMQP semantics: what RabbitMQ itself decides, on the in-memory RabbitMQ and on a real one
(``--tomodachi-wire=real``) — header value types, raw bodies, per-message expiration, the default exchange and
exchanges nobody declared.

Each scenario asserts the same thing on both wires. Where the wires differ, it is a strict xfail on the wire
that differs (``wire_difference``), with the values each wire shows in its reason. A refusal is turned into an
assertion (``refusal``): a strict xfail counts only an ``AssertionError``.
"""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import pytest

import tomodachi
from tests.conformance.kit import REAL_WAIT, LetTimePass, refusal
from tomodachi.envelope import JsonBase
from tomodachi.messaging.amqp.descriptors import AmqpProperties
from tomodachi.messaging.amqp.exceptions import AmqpChannelClosed
from tomodachi.messaging.pipeline import ErrorPolicy
from tomodachi.testing import FakeAmqp, ServiceFactory

# ---- header values and raw bodies -------------------------------------------------------------------------


class HeaderReader(tomodachi.Service):
    name = "semantics-header-reader"

    @tomodachi.amqp("semantics.headers", queue_name="semantics-headers", message_envelope=None)
    async def read(self, data: Any, properties: AmqpProperties) -> None:
        pass


async def headers_seen(tomodachi_service: ServiceFactory, fake_amqp: FakeAmqp, headers: dict[str, Any]) -> Any:
    """The headers the handler gets for a raw message the test publishes with ``headers``."""
    svc = await tomodachi_service(HeaderReader)
    await fake_amqp.publish("semantics.headers", "x", envelope=None, attributes=headers)
    [call] = await svc.wait_for_call("read", timeout=REAL_WAIT)
    return dict(call.arguments["properties"].headers)


UNCHANGED: dict[str, Any] = {
    "count": 7,
    "big": 2**40,
    "negative": -3,
    "flag": True,
    "nothing": None,
    "text": "héllo",
    "empty": "",
    "nested": {"a": [1, "x", {"half": 0.5}]},
    "price": Decimal("1.25"),
    "raw": bytearray(b"\x00\xff"),
}


async def test_header_values_of_the_amqp_field_types_reach_the_handler_unchanged(
    tomodachi_service: ServiceFactory, fake_amqp: FakeAmqp
) -> None:
    assert await headers_seen(tomodachi_service, fake_amqp, UNCHANGED) == UNCHANGED


# a bug of the real wire: encode_properties (tomodachi/messaging/amqp/wire.py) encodes headers with
# pamqp.encode.field_table, which writes a Python float as a 32-bit 'f' field; AMQP's 'd' (64-bit) would keep it
async def test_a_float_header_reaches_the_handler_exactly(
    tomodachi_service: ServiceFactory, fake_amqp: FakeAmqp
) -> None:
    headers = {"ratio": 0.1, "third": 1 / 3}
    assert await headers_seen(tomodachi_service, fake_amqp, headers) == headers


async def test_a_datetime_header_reaches_the_handler_in_whole_seconds_utc(
    tomodachi_service: ServiceFactory, fake_amqp: FakeAmqp
) -> None:
    naive = datetime(2024, 5, 6, 7, 8, 9, 123456)
    aware = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=timezone.utc)
    seen = await headers_seen(tomodachi_service, fake_amqp, {"naive": naive, "aware": aware})
    whole_second = datetime(2024, 5, 6, 7, 8, 9, tzinfo=timezone.utc)  # a naive datetime is taken as UTC
    assert seen == {"naive": whole_second, "aware": whole_second}


@pytest.mark.parametrize("value", [b"\x00\xff", (1, 2), 2**64], ids=["bytes", "tuple", "int-65-bits"])
async def test_a_header_value_amqp_cannot_carry_is_refused_at_the_publish(
    tomodachi_service: ServiceFactory, fake_amqp: FakeAmqp, value: object
) -> None:
    await tomodachi_service(HeaderReader)
    refused = await refusal(fake_amqp.publish("semantics.headers", "x", envelope=None, attributes={"v": value}))
    assert isinstance(refused, TypeError), f"not refused with a TypeError: {refused!r}"


async def test_a_raw_body_that_is_not_utf8_reaches_the_handler_as_bytes(
    tomodachi_service: ServiceFactory, fake_amqp: FakeAmqp
) -> None:
    svc = await tomodachi_service(HeaderReader)
    await fake_amqp.publish("semantics.headers", b"\xff\xfe\x00", envelope=None)
    [call] = await svc.wait_for_call("read", timeout=REAL_WAIT)
    assert (call.data, call.arguments["properties"].content_type) == (b"\xff\xfe\x00", "application/octet-stream")


# ---- per-message expiration -------------------------------------------------------------------------------


class Taker(tomodachi.Service):
    name = "semantics-taker"
    message_envelope = JsonBase

    @tomodachi.amqp("semantics.take", queue_name="semantics-take")
    async def take(self, data: str) -> None:
        pass


class NextTaker(Taker):
    """A later consumer of the same named queue (its own class: its own uuid)."""

    name = "semantics-next-taker"


async def test_a_message_whose_expiration_ran_out_on_the_queue_is_dropped(
    tomodachi_service: ServiceFactory, fake_amqp: FakeAmqp, let_time_pass: LetTimePass
) -> None:
    first = await tomodachi_service(Taker)
    await first.stop()  # the named queue stays; what is published now waits on it
    await fake_amqp.publish("semantics.take", "stale", properties=AmqpProperties(expiration="500"))
    await fake_amqp.publish("semantics.take", "fresh")
    await fake_amqp.settle()  # real wires: a quiet second of real time
    await let_time_pass(1)  # in-memory wires: a second of virtual time
    taker = await tomodachi_service(NextTaker)
    await taker.wait_for_call("take", timeout=REAL_WAIT)
    await fake_amqp.settle()
    assert [call.data for call in taker.calls("take")] == ["fresh"]  # FIFO: a live "stale" would come first


# ---- exchanges --------------------------------------------------------------------------------------------


# an artefact of the real-wire harness: it prefixes every queue name ('t1a2b3c4d5e-semantics-take') and not the
# routing key, so a publish to the default exchange names no queue (tomodachi/testing/wires.py:real_wire_options)
async def test_a_publish_to_the_default_exchange_reaches_the_queue_its_routing_key_names(
    tomodachi_service: ServiceFactory, fake_amqp: FakeAmqp
) -> None:
    svc = await tomodachi_service(Taker)
    straight = await fake_amqp.publish("semantics-take", "straight", exchange_name="")  # the queue's name as key
    await fake_amqp.publish("semantics.take", "routed")
    await svc.wait_for_call("take", timeout=REAL_WAIT)
    await fake_amqp.settle()
    assert [call.data for call in svc.calls("take")] == ["straight", "routed"]  # FIFO: "straight" came first
    assert straight.routing_key == "semantics-take"  # the queue as the service names it, on both wires
    assert [record.data for record in fake_amqp.published("semantics-take")] == ["straight"]


class Auditor(tomodachi.Service):
    """Publishes every request to an exchange of its own that no subscriber declared (yet)."""

    name = "semantics-auditor"
    message_envelope = JsonBase
    message_error_policy = ErrorPolicy(max_attempts=1)

    @tomodachi.amqp("semantics.audit", queue_name="semantics-audit")
    async def audit(self, data: str) -> None:
        await tomodachi.amqp_publish(self, data, routing_key="semantics.audited", exchange_name="semantics.audit-log")


async def test_a_publish_to_an_exchange_nobody_declared_is_accepted(
    tomodachi_service: ServiceFactory, fake_amqp: FakeAmqp
) -> None:
    svc = await tomodachi_service(Auditor)
    svc.expect_errors(AmqpChannelClosed)  # in memory: the handler's publish fails, its message is dead-lettered
    fake_amqp.expect_dead_letters("semantics-audit")
    await fake_amqp.publish("semantics.audit", "request")
    [call] = await svc.wait_for_call("audit", timeout=REAL_WAIT)
    from_test = await refusal(fake_amqp.publish("semantics.audited", "entry", exchange_name="semantics.test-log"))

    assert call.exception is None, f"the service's publish failed: {call.exception!r}"
    assert from_test is None, f"the test's publish failed: {from_test!r}"


async def test_rabbitmqs_predeclared_headers_exchanges_exist(fake_amqp: FakeAmqp) -> None:
    refused = {
        name: await refusal(fake_amqp.publish("semantics.any", "x", exchange_name=name))
        for name in ("amq.headers", "amq.match")
    }
    assert refused == {"amq.headers": None, "amq.match": None}
