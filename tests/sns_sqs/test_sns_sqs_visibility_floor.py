"""Where a handler's decorator sets a visibility timeout, a failed message never comes back sooner than it:
neither for the next attempt nor, on a FIFO queue, for the messages queued behind it in its group."""

from __future__ import annotations

from typing import Any

import tomodachi
from tomodachi.envelope import JsonBase
from tomodachi.testing import FakeSnsSqs, ServiceFactory, VirtualClock


class Slow(tomodachi.Service):
    name = "slow"
    message_envelope = JsonBase

    def __init__(self) -> None:
        self.attempts = 0

    @tomodachi.aws_sns_sqs("jobs", queue_name="slow-jobs", visibility_timeout=20)
    async def job(self, data: Any) -> None:
        self.attempts += 1
        if self.attempts == 1:
            raise RuntimeError("first attempt fails")


class Ordered(tomodachi.Service):
    name = "ordered"
    message_envelope = JsonBase

    def __init__(self) -> None:
        self.handled: list[str] = []
        self.failed_once = False

    @tomodachi.aws_sns_sqs("steps.fifo", queue_name="ordered-steps.fifo", fifo=True, visibility_timeout=15)
    async def step(self, data: str) -> None:
        if data == "a" and not self.failed_once:
            self.failed_once = True
            raise RuntimeError("a fails once")
        self.handled.append(data)


async def test_a_retry_waits_for_the_visibility_timeout_the_user_set(
    tomodachi_service: ServiceFactory, fake_sns_sqs: FakeSnsSqs, virtual_clock: VirtualClock
) -> None:
    svc = await tomodachi_service(Slow)
    await fake_sns_sqs.publish("jobs", "j-1")
    await fake_sns_sqs.settle()
    assert len(svc.calls("job")) == 1
    [pending] = fake_sns_sqs.pending()
    assert (pending.due - virtual_clock.now()).total_seconds() == 20  # not the 1 s back-off
    await virtual_clock.advance("19 seconds")
    await fake_sns_sqs.settle()
    assert len(svc.calls("job")) == 1
    await virtual_clock.advance("1 second")
    await fake_sns_sqs.settle()
    assert len(svc.calls("job")) == 2
    svc.take_errors()


async def test_a_fifo_group_waits_behind_its_failed_message_for_the_visibility_timeout(
    tomodachi_service: ServiceFactory, fake_sns_sqs: FakeSnsSqs, virtual_clock: VirtualClock
) -> None:
    svc = await tomodachi_service(Ordered)
    for step in ("a", "b", "c"):
        await fake_sns_sqs.publish("steps.fifo", step, group_id="g-1", deduplication_id=step)
    await fake_sns_sqs.settle()
    await virtual_clock.advance("14 seconds")
    await fake_sns_sqs.settle()
    assert svc.instance.handled == []  # b and c wait behind a
    await virtual_clock.advance("1 second")
    await fake_sns_sqs.settle()
    assert svc.instance.handled == ["a", "b", "c"]
    svc.take_errors()
