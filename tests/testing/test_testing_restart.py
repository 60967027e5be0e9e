"""Crash and restart of a service inside a system: in-flight deliveries are not acknowledged and come back."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import tomodachi
from tomodachi.envelope import JsonBase
from tomodachi.testing import system


class Worker(tomodachi.Service):
    """Blocks on its first message until released, so a crash finds it mid-work."""

    name = "worker"
    message_envelope = JsonBase

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.release = asyncio.Event()
        self.done: list[Any] = []
        self.block = True

    async def _work(self, data: Any) -> None:
        if self.block:
            self.started.set()
            await self.release.wait()
        self.done.append(data)

    @tomodachi.amqp("jobs.new", queue_name="jobs")
    async def on_amqp(self, data: Any) -> None:
        await self._work(data)

    @tomodachi.aws_sns_sqs("jobs-new", queue_name="jobs", visibility_timeout=20)
    async def on_sqs(self, data: Any, approximate_receive_count: int) -> None:
        await self._work((data, approximate_receive_count))


async def test_an_amqp_message_in_flight_at_a_crash_is_requeued_to_the_restarted_service() -> None:
    async with system(Worker) as shop:
        old = shop.service("worker")
        await shop.fake_amqp.publish("jobs.new", {"job": 1})
        await asyncio.wait_for(old.instance.started.wait(), timeout=5)
        new = await shop.restart(old)
        new.instance.block = False
        await shop.settle()
        assert new.instance is not old.instance and shop.service("worker") is new
        assert old.instance.done == [] and new.instance.done == [{"job": 1}]
        [first, again] = new.calls("on_amqp")  # calls are kept per service name: both instances' calls
        assert isinstance(first.exception, asyncio.CancelledError)  # cut off by the crash, never acknowledged
        assert again.exception is None
        assert shop.fake_amqp.queue_depth("jobs") == 0 and shop.fake_amqp.dead_letters() == []


async def test_an_sqs_message_in_flight_at_a_crash_comes_back_after_its_visibility_timeout() -> None:
    async with system(Worker) as shop:
        old = shop.service("worker")
        await shop.fake_sns_sqs.publish("jobs-new", {"job": 2})
        await asyncio.wait_for(old.instance.started.wait(), timeout=5)
        new = await shop.restart("worker")
        new.instance.block = False
        await shop.settle()
        assert new.instance.done == []  # still invisible: nobody deleted it, nobody handed it back
        [waiting] = shop.pending()
        assert waiting.kind == "visibility timeout" and (waiting.due - shop.clock.now()).total_seconds() == 20
        await shop.run_until_idle(limit="1 minute")
        assert new.instance.done == [({"job": 2}, 2)]  # the second receive
        assert shop.fake_sns_sqs.messages("jobs") == []


async def test_restart_of_a_service_not_in_the_system_is_an_error() -> None:
    async with system(Worker) as shop, system(Worker) as other:
        with pytest.raises(ValueError, match="not a running service of this system"):
            await shop.restart(other.service("worker"))
