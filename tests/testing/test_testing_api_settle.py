"""settle(), pending(), run_until_idle(): deliver what can happen now, list what waits on the virtual clock, and
move the clock through it."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Any

import pytest

import tomodachi
from tomodachi.envelope import JsonBase
from tomodachi.messaging.pipeline import ErrorPolicy
from tomodachi.testing import (
    FakeAmqp,
    FakeSnsSqs,
    IdleTimeout,
    Pending,
    SettleTimeout,
    TestSystem,
    VirtualClock,
)

# what "promptly" means for a settle() whose remaining work waits on the clock: far below its real-time timeout
SETTLE_TIMEOUT = 5.0
PROMPT = 1.0


# -- follow-up publishes -------------------------------------------------------------------------------------------


class Orders(tomodachi.Service):
    """SNS ``order.placed`` → AMQP ``invoice.created``."""

    name = "orders"
    message_envelope = JsonBase

    @tomodachi.aws_sns_sqs("order.placed", queue_name="orders-placed")
    async def on_placed(self, data: Any) -> None:
        await tomodachi.amqp_publish(self, {"invoice": data["order"]}, routing_key="invoice.created")


class Invoices(tomodachi.Service):
    """AMQP ``invoice.created`` → AMQP ``mail.requested``, whose handler records the mail."""

    name = "invoices"
    message_envelope = JsonBase

    def __init__(self) -> None:
        self.mailed: list[Any] = []

    @tomodachi.amqp("invoice.created", queue_name="invoices-created")
    async def on_invoice(self, data: Any) -> None:
        await tomodachi.amqp_publish(self, {"mail": data["invoice"]}, routing_key="mail.requested")

    @tomodachi.amqp("mail.requested", queue_name="invoices-mail")
    async def on_mail(self, data: Any) -> None:
        self.mailed.append(data["mail"])


async def test_settle_delivers_follow_up_publishes_across_both_buses(
    tomodachi_system: TestSystem, fake_sns_sqs: FakeSnsSqs, virtual_clock: VirtualClock
) -> None:
    await tomodachi_system.start(Orders)
    invoices = await tomodachi_system.start(Invoices)
    before = virtual_clock.now()

    await fake_sns_sqs.publish("order.placed", {"order": "A-1"})
    await tomodachi_system.settle()

    assert invoices.instance.mailed == ["A-1"]
    assert virtual_clock.now() == before
    assert tomodachi_system.pending() == []


async def test_fake_settle_delivers_a_chain_of_publishes_on_its_bus(
    tomodachi_system: TestSystem, fake_amqp: FakeAmqp
) -> None:
    invoices = await tomodachi_system.start(Invoices)

    await fake_amqp.publish("invoice.created", {"invoice": "B-2"})
    await fake_amqp.settle()

    assert invoices.instance.mailed == ["B-2"]
    assert [p.destination for p in fake_amqp.published()] == ["invoice.created", "mail.requested"]
    assert fake_amqp.is_idle()


# -- what waits on the clock ---------------------------------------------------------------------------------------

POLICY = ErrorPolicy(max_attempts=3, initial_delay=30, multiplier=2)


class FailsTwice(tomodachi.Service):
    """Fails the first two deliveries of each message, then succeeds."""

    name = "fails-twice"
    message_envelope = JsonBase
    message_error_policy = POLICY

    def __init__(self) -> None:
        self.attempts: list[Any] = []
        self.done: list[Any] = []

    def attempt(self, data: Any) -> None:
        self.attempts.append(data)
        if self.attempts.count(data) <= 2:
            raise ConnectionError(f"attempt {self.attempts.count(data)} failed")
        self.done.append(data)

    @tomodachi.amqp("job.created", queue_name="fails-twice-amqp")
    async def on_amqp(self, data: Any) -> None:
        self.attempt(data)

    @tomodachi.aws_sns_sqs("job.created", queue_name="fails-twice-sns")
    async def on_sns(self, data: Any) -> None:
        self.attempt(data)


BUSES = {
    "amqp": ("fails-twice-amqp", "retry back-off"),
    "aws_sns_sqs": ("fails-twice-sns", "visibility timeout"),
}


def fake_of(system: TestSystem, bus: str) -> FakeAmqp | FakeSnsSqs:
    return system.fake_amqp if bus == "amqp" else system.fake_sns_sqs


@pytest.mark.parametrize("bus", list(BUSES))
async def test_settle_returns_promptly_when_a_retry_back_off_waits_on_the_clock(
    tomodachi_system: TestSystem, virtual_clock: VirtualClock, bus: str
) -> None:
    svc = await tomodachi_system.start(FailsTwice)
    svc.expect_errors(ConnectionError)
    queue, kind = BUSES[bus]
    fake = fake_of(tomodachi_system, bus)
    start = virtual_clock.now()

    await fake.publish("job.created", "job-1")
    began = time.perf_counter()
    await tomodachi_system.settle(timeout=SETTLE_TIMEOUT)
    elapsed = time.perf_counter() - began

    assert elapsed < PROMPT
    assert svc.instance.attempts == ["job-1"]
    assert virtual_clock.now() == start
    [pending] = tomodachi_system.pending()
    assert isinstance(pending, Pending)
    assert (pending.kind, pending.queue) == (kind, queue)
    assert pending.due == start + timedelta(seconds=POLICY.delay_for(1))
    assert fake.pending() == [pending]
    assert fake.is_idle()


async def test_settle_returns_promptly_when_an_sqs_message_is_delayed(
    tomodachi_system: TestSystem, fake_sns_sqs: FakeSnsSqs, virtual_clock: VirtualClock
) -> None:
    svc = await tomodachi_system.start(FailsTwice)
    start = virtual_clock.now()

    record = await fake_sns_sqs.send("fails-twice-sns", "delayed", delay_seconds=90)
    began = time.perf_counter()
    await fake_sns_sqs.settle(timeout=SETTLE_TIMEOUT)

    assert time.perf_counter() - began < PROMPT
    assert svc.instance.attempts == []
    [pending] = fake_sns_sqs.pending()
    assert (pending.kind, pending.queue, pending.due) == (
        "message delay",
        "fails-twice-sns",
        start + timedelta(seconds=90),
    )
    assert pending.message_id == record.message_id


class Keeper(tomodachi.Service):
    name = "keeper"
    message_envelope = JsonBase

    def __init__(self) -> None:
        self.kept: list[Any] = []

    @tomodachi.aws_sns_sqs("kept", queue_name="keeper-kept")
    async def keep(self, data: Any) -> None:
        self.kept.append(data)


async def test_a_message_held_back_for_hours_is_pending_until_the_clock_gets_there(
    tomodachi_system: TestSystem, fake_sns_sqs: FakeSnsSqs, virtual_clock: VirtualClock
) -> None:
    svc = await tomodachi_system.start(Keeper)
    start = virtual_clock.now()
    fake_sns_sqs.latency("keeper-kept", "12 hours")

    await fake_sns_sqs.publish("kept", "late")
    await tomodachi_system.settle()

    [pending] = fake_sns_sqs.pending()
    assert (pending.kind, pending.queue, pending.due) == ("message delay", "keeper-kept", start + timedelta(hours=12))
    await tomodachi_system.run_until_idle(limit=timedelta(days=1))
    assert svc.instance.kept == ["late"]
    assert virtual_clock.now() == start + timedelta(hours=12)


async def test_settle_returns_promptly_when_receives_fail_and_the_consumer_backs_off(
    tomodachi_system: TestSystem, fake_sns_sqs: FakeSnsSqs, virtual_clock: VirtualClock
) -> None:
    svc = await tomodachi_system.start(FailsTwice)
    start = virtual_clock.now()

    fake_sns_sqs.fail_next_receives(1)
    await fake_sns_sqs.publish("job.created", "while-receives-fail")
    began = time.perf_counter()
    await tomodachi_system.settle(timeout=SETTLE_TIMEOUT)

    assert time.perf_counter() - began < PROMPT
    assert svc.instance.attempts == []
    [pending] = tomodachi_system.pending()
    assert (pending.kind, pending.queue) == ("consumer back-off", "fails-twice-sns")
    assert pending.due > start

    await tomodachi_system.run_until_idle()
    svc.take_errors()
    assert svc.instance.attempts[0] == "while-receives-fail"


@pytest.mark.parametrize("bus", list(BUSES))
async def test_run_until_idle_advances_through_back_offs_until_nothing_is_pending(
    tomodachi_system: TestSystem, virtual_clock: VirtualClock, bus: str
) -> None:
    svc = await tomodachi_system.start(FailsTwice)
    fake = fake_of(tomodachi_system, bus)
    start = virtual_clock.now()

    await fake.publish("job.created", "job-2")
    await fake.run_until_idle()

    assert svc.instance.done == ["job-2"]
    assert [str(e) for e in svc.take_errors()] == ["attempt 1 failed", "attempt 2 failed"]
    assert tomodachi_system.pending() == []
    # the clock stopped at the last back-off: nothing was pending after it
    assert virtual_clock.now() == start + timedelta(seconds=POLICY.delay_for(1) + POLICY.delay_for(2))
    assert [c.time for c in svc.calls(f"on_{'amqp' if bus == 'amqp' else 'sns'}")] == [
        start,
        start + timedelta(seconds=POLICY.delay_for(1)),
        start + timedelta(seconds=POLICY.delay_for(1) + POLICY.delay_for(2)),
    ]


async def test_run_until_idle_with_nothing_pending_leaves_the_clock_alone(
    tomodachi_system: TestSystem, virtual_clock: VirtualClock
) -> None:
    invoices = await tomodachi_system.start(Invoices)
    start = virtual_clock.now()

    await tomodachi_system.fake_amqp.publish("mail.requested", {"mail": "m"})
    await tomodachi_system.run_until_idle()

    assert invoices.instance.mailed == ["m"]
    assert virtual_clock.now() == start


class Ticking(FailsTwice):
    name = "ticking"

    def __init__(self) -> None:
        super().__init__()
        self.ticks = 0

    @tomodachi.schedule(interval="every 10 seconds")
    async def tick(self) -> None:
        self.ticks += 1


async def test_run_until_idle_fires_scheduled_functions_as_time_passes(
    tomodachi_system: TestSystem, virtual_clock: VirtualClock
) -> None:
    svc = await tomodachi_system.start(Ticking)
    start = virtual_clock.now()
    assert svc.calls("tick") == []

    await tomodachi_system.fake_amqp.publish("job.created", "job-3")
    await tomodachi_system.run_until_idle()
    svc.take_errors()

    end = virtual_clock.now()
    assert end > start
    ticks = [c.time for c in svc.calls("tick")]
    expected = [start + timedelta(seconds=s) for s in range(10, int((end - start).total_seconds()) + 1, 10)]
    assert ticks == expected
    assert svc.instance.ticks == len(expected) > 0


class AlwaysFails(tomodachi.Service):
    name = "always-fails"
    message_envelope = JsonBase
    message_error_policy = ErrorPolicy(max_attempts=1000)

    @tomodachi.amqp("doomed", queue_name="always-fails")
    async def on_doomed(self, data: Any) -> None:
        raise RuntimeError("never works")


@pytest.mark.parametrize("limit", [timedelta(hours=1), "1 hour", 3600], ids=["timedelta", "spoken", "seconds"])
async def test_run_until_idle_raises_idle_timeout_naming_what_is_still_pending(
    tomodachi_system: TestSystem, virtual_clock: VirtualClock, limit: timedelta | str | int
) -> None:
    svc = await tomodachi_system.start(AlwaysFails)
    svc.expect_errors(RuntimeError)
    start = virtual_clock.now()

    await tomodachi_system.fake_amqp.publish("doomed", {})
    with pytest.raises(IdleTimeout) as info:
        await tomodachi_system.run_until_idle(limit=limit)

    assert isinstance(info.value, TimeoutError)
    message = str(info.value)
    assert "run_until_idle(limit=1 h) stopped" in message
    assert "always-fails" in message
    assert "retry back-off" in message
    assert "virtual clock" in message
    [pending] = tomodachi_system.pending()
    assert pending.due > start + timedelta(hours=1) >= virtual_clock.now() > start
    assert pending.due.isoformat() in message
    assert len(svc.calls("on_doomed")) > 1


@pytest.mark.parametrize(
    ("limit", "error", "match"),
    [
        ("-5 minutes", ValueError, "must not be negative"),
        (timedelta(seconds=-1), ValueError, "must not be negative"),
        ("soon", ValueError, "cannot read 'soon' as a duration"),
        (None, TypeError, "expected a timedelta"),
    ],
    ids=["negative-spoken", "negative-timedelta", "unreadable", "none"],
)
async def test_run_until_idle_refuses_a_limit_it_cannot_use_before_moving_the_clock(
    tomodachi_system: TestSystem, virtual_clock: VirtualClock, limit: Any, error: type[Exception], match: str
) -> None:
    svc = await tomodachi_system.start(AlwaysFails)
    svc.expect_errors(RuntimeError)
    await tomodachi_system.fake_amqp.publish("doomed", {})
    await tomodachi_system.settle()
    start = virtual_clock.now()

    for run_until_idle in (tomodachi_system.run_until_idle, tomodachi_system.fake_amqp.run_until_idle):
        with pytest.raises(error, match=match):
            await run_until_idle(limit)

    assert virtual_clock.now() == start
    assert len(svc.calls("on_doomed")) == 1


# -- busy on real work ---------------------------------------------------------------------------------------------


class Blocking(tomodachi.Service):
    """A handler waiting for real work (an event nobody sets until the test does), not for the clock."""

    name = "blocking"
    message_envelope = JsonBase

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.finished: list[Any] = []

    @tomodachi.amqp("slow.job", queue_name="blocking-slow")
    async def on_slow(self, data: Any) -> None:
        await self.release.wait()
        self.finished.append(data)


async def test_settle_times_out_on_a_handler_busy_with_real_work(
    tomodachi_system: TestSystem, virtual_clock: VirtualClock
) -> None:
    svc = await tomodachi_system.start(Blocking)
    await tomodachi_system.fake_amqp.publish("slow.job", "work")

    with pytest.raises(SettleTimeout) as info:
        await tomodachi_system.settle(timeout=0.2)

    assert isinstance(info.value, TimeoutError)
    message = str(info.value)
    assert "blocking-slow" in message
    assert "real time" in message
    assert "virtual clock" in message
    assert tomodachi_system.pending() == []  # it does not wait on the clock

    svc.instance.release.set()
    await tomodachi_system.settle()
    assert svc.instance.finished == ["work"]


@pytest.mark.parametrize("timeout", [-1, "1 second", True, None])
async def test_settle_timeout_must_be_real_seconds(tomodachi_system: TestSystem, timeout: Any) -> None:
    with pytest.raises(ValueError, match=r"settle\(timeout=...\) takes real seconds, a number >= 0"):
        await tomodachi_system.fake_amqp.settle(timeout=timeout)
