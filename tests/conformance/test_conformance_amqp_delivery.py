"""AMQP delivery and lifecycle: how many handlers run at once (prefetch), what a stopping service does with the
message its handler is still on, and what a queue left without consumers keeps — on the in-memory RabbitMQ and
on a real one (``--tomodachi-wire=real``).

Each scenario asserts the same thing on both wires. Where the wires differ, it is a strict xfail on the wire
that differs (``wire_difference``), with the values each wire shows in its reason.

How many handlers run at once is measured without timing guesses: each handler waits until ``CROWD`` handlers
run together, or at most ``GATHER_WAIT`` real seconds (an ``asyncio.wait_for``, real time on both wires), and
the service records the most that ran at once. Handlers that may run together meet at once; a limit shows as a
lower peak.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

import pytest

import tomodachi
from tests.conformance.kit import CROWD, REAL_WAIT, Gathering, LetTimePass
from tomodachi.envelope import JsonBase
from tomodachi.messaging.amqp.descriptors import AmqpProperties
from tomodachi.testing import FakeAmqp, ServiceFactory

# ---- how many handlers run at once ------------------------------------------------------------------------


class Crowd(Gathering, tomodachi.Service):
    """``CROWD`` messages, each handler waiting for the others (see :class:`Gathering`)."""

    name = "delivery-crowd"
    message_envelope = JsonBase

    @tomodachi.amqp("delivery.crowd", queue_name="delivery-crowd")
    async def join(self, data: int) -> None:
        await self.gather()


async def peak_of_a_crowd(tomodachi_service: ServiceFactory, fake_amqp: FakeAmqp, options: dict[str, Any]) -> int:
    """How many handlers of ``Crowd`` ran at once for ``CROWD`` messages published at once."""
    svc = await tomodachi_service(Crowd, options=options)
    for n in range(CROWD):
        await fake_amqp.publish("delivery.crowd", n)
    await svc.wait_for_call("join", count=CROWD, timeout=REAL_WAIT)
    assert sorted(call.data for call in svc.calls("join")) == list(range(CROWD))
    return svc.instance.peak


@pytest.mark.parametrize(
    ("options", "peak"),
    [
        pytest.param({"amqp.qos.queue_prefetch_count": 2}, 2, id="queue-prefetch-2"),
        pytest.param({}, CROWD, id="default-prefetch-100"),
        pytest.param({"amqp.qos.queue_prefetch_count": 0}, CROWD, id="queue-prefetch-0-is-unlimited"),
    ],
)
async def test_the_prefetch_counts_limit_how_many_handlers_run_at_once(
    tomodachi_service: ServiceFactory, fake_amqp: FakeAmqp, options: dict[str, Any], peak: int
) -> None:
    assert await peak_of_a_crowd(tomodachi_service, fake_amqp, options) == peak


async def test_a_global_prefetch_count_of_1_lets_one_handler_run_at_a_time(
    tomodachi_service: ServiceFactory, fake_amqp: FakeAmqp
) -> None:
    # docs/amqp-rabbitmq.md: qos.global_prefetch_count applies per channel (global=True), on top of the
    # per-consumer queue_prefetch_count (100 here); RabbitMQ honours both when the per-consumer one comes first
    assert await peak_of_a_crowd(tomodachi_service, fake_amqp, {"amqp.qos.global_prefetch_count": 1}) == 1


# ---- a queue left without consumers -----------------------------------------------------------------------


class Taker(tomodachi.Service):
    name = "delivery-taker"
    message_envelope = JsonBase

    def __init__(self) -> None:
        self.slow_started = asyncio.Event()

    @tomodachi.amqp("delivery.take", queue_name="delivery-take")
    async def take(self, data: str, properties: AmqpProperties) -> None:
        if data == "slow" and not properties.headers.get("x-tomodachi-attempt"):
            self.slow_started.set()
            await asyncio.sleep(60)  # the virtual clock in memory, real time on real wires: cut off by the stop


class NextTaker(Taker):
    """A later consumer of the same named queue (its own class: its own uuid)."""

    name = "delivery-next-taker"


class Waiter(tomodachi.Service):
    """Lets two seconds pass on either wire: its handler sleeps (virtual time in memory, real time on real wires)."""

    name = "delivery-waiter"
    message_envelope = JsonBase

    @tomodachi.amqp("delivery.wait", queue_name="delivery-wait")
    async def wait(self, data: float) -> None:
        await asyncio.sleep(data)


EXPIRING = {"amqp.queue_ttl": 1}  # x-expires: RabbitMQ deletes the queue once unused for a second


async def test_a_queue_unused_for_longer_than_queue_ttl_is_deleted_with_its_messages(
    tomodachi_service: ServiceFactory, fake_amqp: FakeAmqp, let_time_pass: LetTimePass
) -> None:
    first = await tomodachi_service(Taker, options=EXPIRING)
    await first.stop()  # no consumer from now on: the queue's x-expires timer runs
    await fake_amqp.publish("delivery.take", "waiting")  # the queue still exists: it takes the message
    waiter = await tomodachi_service(Waiter)
    await fake_amqp.publish("delivery.wait", 2.0)
    await let_time_pass(2)
    await waiter.wait_for_call("wait", timeout=REAL_WAIT)  # two seconds later, on either wire

    taker = await tomodachi_service(NextTaker, options=EXPIRING)  # declares the queue again
    await fake_amqp.publish("delivery.take", "fresh")
    await taker.wait_for_call("take", timeout=REAL_WAIT)
    await fake_amqp.settle()
    assert [call.data for call in taker.calls("take")] == ["fresh"]  # FIFO: a kept "waiting" would come first


# ---- a service that stops while its handler runs ----------------------------------------------------------


async def test_a_message_whose_handler_is_cut_off_by_a_stop_goes_to_the_next_consumer_as_a_retry(
    tomodachi_service: ServiceFactory, fake_amqp: FakeAmqp
) -> None:
    first = await tomodachi_service(Taker)
    await fake_amqp.publish("delivery.take", "slow")
    await asyncio.wait_for(first.instance.slow_started.wait(), REAL_WAIT)
    await first.stop(grace_period=0)  # "slow" is cut off and handed back to the named queue

    taker = await tomodachi_service(NextTaker)
    [again] = await taker.wait_for_call("take", timeout=REAL_WAIT)
    await fake_amqp.settle()
    assert [(call.data, type(call.exception)) for call in first.calls("take")] == [("slow", asyncio.CancelledError)]
    assert (again.data, again.exception) == ("slow", None)
    assert again.arguments["properties"].headers.get("x-tomodachi-attempt") == 1  # handed back as a retry copy
    assert [call.data for call in taker.calls("take")] == ["slow"]


# ---- waiting for a call while another handler runs --------------------------------------------------------


async def returned_within(wait: Awaitable[object]) -> bool:
    """Whether ``wait`` returned (rather than raising ``TimeoutError``): an assertion, not an error."""
    try:
        await wait
    except TimeoutError:
        return False
    return True


async def test_wait_for_call_returns_once_the_call_happened_while_another_handler_still_runs(
    tomodachi_service: ServiceFactory, fake_amqp: FakeAmqp
) -> None:
    svc = await tomodachi_service(Taker)
    await fake_amqp.publish("delivery.take", "slow")
    await asyncio.wait_for(svc.instance.slow_started.wait(), REAL_WAIT)
    await fake_amqp.publish("delivery.take", "quick")  # prefetch 100: handled beside "slow"
    try:
        returned = await returned_within(svc.wait_for_call("take", timeout=3))
        assert returned, "wait_for_call('take') did not return within 3 s although 'quick' was handled"
        assert [call.data for call in svc.calls("take")] == ["quick"]
    finally:
        await svc.stop(grace_period=0)  # "slow" is cut off (and handed back)
        svc.take_errors()
