"""``asyncio.sleep`` in a message handler waits on the test's virtual clock (pending work for settle() and
run_until_idle()); the test's own sleeps and HTTP handlers' stay real, and nothing is patched once the clock
unfreezes."""

from __future__ import annotations

import asyncio
import sys
import time
import types
from datetime import datetime, timedelta, timezone
from typing import Any

import tomodachi
from tomodachi.envelope import JsonBase
from tomodachi.testing import FakeAmqp, FakeSnsSqs, ServiceFactory, TestSystem, VirtualClock

# what a service module that imported the function itself holds ("from asyncio import sleep")
OWN_SLEEP = types.ModuleType("service_with_its_own_sleep")
exec("from asyncio import sleep\n", OWN_SLEEP.__dict__)
sys.modules[OWN_SLEEP.__name__] = OWN_SLEEP


class Patient(tomodachi.Service):
    """Waits before it records: an AMQP handler through asyncio.sleep, an SNS+SQS one through its own import."""

    name = "patient"
    message_envelope = JsonBase

    def __init__(self) -> None:
        self.done: list[tuple[str, Any]] = []

    @tomodachi.amqp("wait.amqp", queue_name="patient-amqp")
    async def on_amqp(self, data: Any) -> None:
        await asyncio.sleep(30)
        self.done.append(("amqp", data))

    @tomodachi.aws_sns_sqs("wait.sns", queue_name="patient-sns")
    async def on_sns(self, data: Any) -> None:
        await OWN_SLEEP.sleep(20)  # within the queue's visibility timeout (30 s): not delivered twice
        self.done.append(("sns", data))

    @tomodachi.http("GET", r"/nap")
    async def nap(self) -> str:
        await asyncio.sleep(0.01)  # an HTTP handler: the test is waiting for its response, in real time
        return "rested"


async def test_a_handlers_sleep_is_pending_on_the_virtual_clock_until_it_moves(
    tomodachi_system: TestSystem, fake_amqp: FakeAmqp, fake_sns_sqs: FakeSnsSqs, virtual_clock: VirtualClock
) -> None:
    svc = await tomodachi_system.start(Patient)
    start = virtual_clock.now()
    await fake_amqp.publish("wait.amqp", 1)
    await fake_sns_sqs.publish("wait.sns", 2)

    began = time.perf_counter()
    await tomodachi_system.settle()
    assert time.perf_counter() - began < 5  # returns at once: the handlers wait on the clock, not in real time
    assert svc.instance.done == []
    sleeps = {(item.queue, item.due) for item in tomodachi_system.pending() if item.kind == "handler sleep"}
    assert sleeps == {("patient-amqp", start + timedelta(seconds=30)), ("patient-sns", start + timedelta(seconds=20))}

    await tomodachi_system.run_until_idle(limit="1 hour")
    assert svc.instance.done == [("sns", 2), ("amqp", 1)]
    assert fake_sns_sqs.messages("patient-sns") == []  # handled once, deleted
    assert [c.time for c in svc.calls("on_amqp")] == [start]  # a call's time is when it started


async def test_the_tests_own_sleep_and_an_http_handlers_stay_real(
    tomodachi_service: ServiceFactory, virtual_clock: VirtualClock
) -> None:
    svc = await tomodachi_service(Patient)
    start = virtual_clock.now()

    began = time.perf_counter()
    await asyncio.sleep(0.01)
    async with svc.http.get("/nap") as response:
        assert await response.text() == "rested"

    assert time.perf_counter() - began >= 0.02
    assert virtual_clock.now() == start


async def test_asyncio_sleep_is_the_real_one_again_once_the_clock_unfreezes() -> None:
    real = asyncio.sleep
    with VirtualClock():
        assert asyncio.sleep is not real and OWN_SLEEP.sleep is not real
        with VirtualClock():  # a nested freeze keeps it until the outer one ends
            pass
        assert asyncio.sleep is not real
    assert asyncio.sleep is real and asyncio.tasks.sleep is real and OWN_SLEEP.sleep is real


class Sweeper(tomodachi.Service):
    """An hourly sweep that pauses ten minutes between its two passes."""

    name = "sweeper"

    def __init__(self) -> None:
        self.passes: list[str] = []

    @tomodachi.schedule(interval="hourly")
    async def sweep(self) -> None:
        self.passes.append(datetime.now(timezone.utc).strftime("%H:%M"))
        await asyncio.sleep(600)
        self.passes.append(datetime.now(timezone.utc).strftime("%H:%M"))


async def test_a_scheduled_functions_sleep_waits_on_the_virtual_clock(
    tomodachi_service: ServiceFactory, virtual_clock: VirtualClock
) -> None:
    svc = await tomodachi_service(Sweeper)
    began = time.perf_counter()

    await virtual_clock.advance("65 minutes")
    assert svc.instance.passes == ["01:00"]  # the second pass waits for 01:10 on the virtual clock
    await virtual_clock.advance("5 minutes")
    assert svc.instance.passes == ["01:00", "01:10"]
    assert time.perf_counter() - began < 5
