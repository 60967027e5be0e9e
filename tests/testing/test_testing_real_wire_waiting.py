"""Waiting on real wires: ``wait_for_call()`` waits for the calls themselves (never for the bus to be quiet, which
it may not be while another handler runs), and a timeout reads as it does in memory; ``settle()`` ends in
``SettleTimeout``, whose ``busy`` says which bus still has handlers running.

No broker is needed: the services here have HTTP handlers only, and a message handler "running" is the bus's task
counter on the harness's Environment (what the real-wire settle watches), started by the test. The conformance
scenario ``test_wait_for_call_returns_once_the_call_happened_while_another_handler_still_runs`` runs the same on
RabbitMQ (``--tomodachi-wire=real``)."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

import tomodachi
from tomodachi.envelope import JsonBase
from tomodachi.runtime.clock import RealClock
from tomodachi.runtime.execution_report import TaskCounter
from tomodachi.testing import FakeAmqp, ServiceFactory, SettleTimeout, VirtualClock
from tomodachi.testing.fakes.real import QUIET_PERIOD, quiet_period
from tomodachi.testing.harness import ServiceHarness
from tomodachi.testing.settle import LONGER_TIMEOUT_HINT
from tomodachi.testing.wires import new_test_prefix, real_wire_options

UNUSED_MOTO = "http://127.0.0.1:9"  # never asked: nothing here touches SNS+SQS


class Counter(tomodachi.Service):
    name = "counter"

    @tomodachi.http("POST", r"/count")
    async def count(self, request: Any) -> str:
        return "counted"

    @tomodachi.http("POST", r"/other")
    async def other(self, request: Any) -> str:
        return "other"


@pytest.fixture
async def real_harness() -> AsyncIterator[ServiceHarness]:
    """A harness on real wires (the real clock); its services use no broker."""
    harness = ServiceHarness(RealClock(), wire="real", wire_options=real_wire_options(UNUSED_MOTO, new_test_prefix()))
    try:
        yield harness
    finally:
        await harness.stop_all()


def message_handler_running(harness: ServiceHarness, bus: str) -> TaskCounter:
    """Stands in for a message handler of ``bus`` that runs on (what the real-wire settle waits for)."""
    tasks = harness.environment.execution.counter(bus)
    tasks.started()
    return tasks


async def post_soon(svc: Any, path: str, times: int = 1) -> None:
    for _ in range(times):
        await asyncio.sleep(0.05)
        response = await svc.http.post(path)
        assert response.status == 200


# -- wait_for_call() waits for the call ----------------------------------------------------------------------------


async def test_on_real_wires_wait_for_call_returns_once_the_call_happened_while_a_message_handler_runs(
    real_harness: ServiceHarness,
) -> None:
    svc = await real_harness.start(Counter)
    tasks = message_handler_running(real_harness, "amqp")  # the bus is never quiet while the wait goes on
    poster = asyncio.ensure_future(post_soon(svc, "/count"))
    started = time.monotonic()
    [call] = await svc.wait_for_call("count", timeout=5)
    waited = time.monotonic() - started
    await poster
    tasks.ended()

    assert call.result == "counted"
    assert waited < QUIET_PERIOD / 2  # the call, not a quiet bus, ended the wait


async def test_on_real_wires_wait_for_call_waits_for_count_calls(real_harness: ServiceHarness) -> None:
    svc = await real_harness.start(Counter)
    tasks = message_handler_running(real_harness, "aws_sns_sqs")
    poster = asyncio.ensure_future(post_soon(svc, "/count", times=3))
    calls = await svc.wait_for_call("count", count=3, timeout=5)
    await poster
    tasks.ended()

    assert [call.result for call in calls] == ["counted"] * 3


async def test_on_real_wires_wait_for_call_returns_at_once_when_the_calls_happened_already(
    real_harness: ServiceHarness,
) -> None:
    svc = await real_harness.start(Counter)
    await post_soon(svc, "/count")
    message_handler_running(real_harness, "amqp").ended()  # a handler ran just now: the bus is not quiet yet
    started = time.monotonic()
    assert len(await svc.wait_for_call("count")) == 1
    assert time.monotonic() - started < 0.1


# -- a timeout reads the same on both wires ------------------------------------------------------------------------


async def test_on_real_wires_a_wait_for_call_timeout_says_how_many_calls_happened_and_what_runs(
    real_harness: ServiceHarness,
) -> None:
    svc = await real_harness.start(Counter)
    await post_soon(svc, "/count")
    tasks = message_handler_running(real_harness, "amqp")

    with pytest.raises(TimeoutError) as info:
        await svc.wait_for_call("count", count=2, timeout=0.1)
    tasks.ended()

    assert type(info.value) is TimeoutError  # as in memory: not the SettleTimeout of a settle it never made
    message = str(info.value)
    assert message.startswith("counter.count was called 1 time(s) within 0.1 s of real time, not 2; still busy")
    assert "\n  amqp: 1 handler(s) running\n" in message
    assert "aws_sns_sqs" not in message
    assert message.endswith(LONGER_TIMEOUT_HINT)


async def test_on_real_wires_a_wait_for_call_timeout_with_nothing_running_says_how_many_calls_happened(
    real_harness: ServiceHarness,
) -> None:
    svc = await real_harness.start(Counter)

    with pytest.raises(TimeoutError) as info:
        await svc.wait_for_call("count", timeout=0.05)

    assert type(info.value) is TimeoutError
    assert str(info.value) == "counter.count was called 0 time(s) within 0.05 s of real time, not 1"


class Slow(tomodachi.Service):
    name = "counter"  # the same name as Counter's: the messages compare word for word
    message_envelope = JsonBase

    def __init__(self) -> None:
        self.release = asyncio.Event()

    @tomodachi.amqp("slow.work", queue_name="slow-work")
    async def work(self, data: Any) -> None:
        await self.release.wait()  # real work the virtual clock knows nothing of

    @tomodachi.http("POST", r"/count")
    async def count(self, request: Any) -> str:
        return "counted"


async def test_a_wait_for_call_timeout_while_a_handler_runs_reads_the_same_in_memory_and_on_real_wires(
    tomodachi_service: ServiceFactory,
    fake_amqp: FakeAmqp,
    virtual_clock: VirtualClock,  # the in-memory side needs the in-memory wires (skipped on real ones)
    real_harness: ServiceHarness,
) -> None:
    in_memory = await tomodachi_service(Slow)
    await fake_amqp.publish("slow.work", 1)
    with pytest.raises(TimeoutError) as memory_info:
        await in_memory.wait_for_call("count", timeout=0.1)
    in_memory.instance.release.set()
    await fake_amqp.settle()

    on_real_wires = await real_harness.start(Counter)
    tasks = message_handler_running(real_harness, "amqp")
    with pytest.raises(TimeoutError) as real_info:
        await on_real_wires.wait_for_call("count", timeout=0.1)
    tasks.ended()

    assert type(memory_info.value) is type(real_info.value) is TimeoutError
    first_clause = "counter.count was called 0 time(s) within 0.1 s of real time, not 1; still busy ("
    memory, real = str(memory_info.value), str(real_info.value)
    assert memory.startswith(first_clause) and real.startswith(first_clause)
    assert memory.endswith(LONGER_TIMEOUT_HINT) and real.endswith(LONGER_TIMEOUT_HINT)
    assert "slow-work" in memory and "amqp: 1 handler(s) running" in real


# -- settle() on real wires ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("bus", ["amqp", "aws_sns_sqs"])
async def test_on_real_wires_settle_times_out_with_a_settle_timeout_naming_the_running_handlers(
    real_harness: ServiceHarness, bus: str
) -> None:
    tasks = message_handler_running(real_harness, bus)
    tasks.started()  # two of them

    with pytest.raises(SettleTimeout) as info:
        await real_harness.fake(bus).settle(timeout=0.2)
    tasks.ended()
    tasks.ended()

    assert str(info.value).startswith("settle() timed out after 0.2 s of real time; still busy (real wires")
    assert f"\n  {bus}: 2 handler(s) running\n" in info.value.busy
    assert info.value.busy.endswith(LONGER_TIMEOUT_HINT)
    assert isinstance(info.value, TimeoutError)  # what callers caught so far still catches it


async def test_on_real_wires_the_harness_settle_times_out_with_a_settle_timeout(real_harness: ServiceHarness) -> None:
    tasks = message_handler_running(real_harness, "aws_sns_sqs")

    with pytest.raises(SettleTimeout) as info:
        await real_harness.settle(timeout=0.2)  # both buses: neither was quiet for a second by then
    tasks.ended()

    assert info.value.busy.startswith("still busy (real wires")
    assert re.search(r"\n  (aws_sns_sqs: 1 handler\(s\) running|amqp: no handler running, but quiet)", info.value.busy)


async def test_on_real_wires_a_settle_shorter_than_the_quiet_period_says_how_long_the_bus_was_quiet(
    real_harness: ServiceHarness,
) -> None:
    with pytest.raises(SettleTimeout) as info:
        await real_harness.fake("amqp").settle(timeout=0.2)

    assert re.search(r"\n  amqp: no handler running, but quiet for 0\.\d s only\n", info.value.busy)
    assert f"until no handler has run for {QUIET_PERIOD:g} s of real time" in info.value.busy


async def test_a_bus_that_never_stays_quiet_times_out_saying_when_a_handler_last_ran() -> None:
    tasks = TaskCounter()

    async def handlers_keep_coming() -> None:
        while True:
            tasks.started()
            tasks.ended()  # each one quick: none is running when the wait looks, yet the bus is never quiet
            await asyncio.sleep(0.02)

    churn = asyncio.ensure_future(handlers_keep_coming())
    try:
        with pytest.raises(SettleTimeout) as info:
            await quiet_period("amqp", tasks, timeout=0.3, quiet=0.2)
    finally:
        churn.cancel()

    assert re.search(r"\n  amqp: no handler running, but quiet for 0\.[01] s only\n", info.value.busy)
    assert "until no handler has run for 0.2 s of real time" in info.value.busy


async def test_a_quiet_bus_settles_after_the_quiet_period() -> None:
    tasks = TaskCounter()
    tasks.started()
    tasks.ended()
    started = time.monotonic()
    await quiet_period("amqp", tasks, timeout=5, quiet=0.1)
    assert 0.1 <= time.monotonic() - started < 1
