"""SNS+SQS delivery and lifecycle: how many handlers run at once (the receive batch), a handler slower than its
queue's visibility timeout, and what a stopping service does with the message its handler is still on — on the
in-memory SNS+SQS and on moto (``--tomodachi-wire=real``).

Each scenario asserts the same thing on both wires. Where the wires differ, it is a strict xfail on the wire
that differs (``wire_difference``), with the values each wire shows in its reason.

How many handlers run at once is measured as in ``test_conformance_amqp_delivery.py``: each handler waits until
``CROWD`` handlers run together, or at most ``GATHER_WAIT`` real seconds, and the service records the peak.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

import tomodachi
from tests.conformance.kit import CROWD, REAL_WAIT, Gathering, LetTimePass
from tomodachi.envelope import JsonBase
from tomodachi.messaging.pipeline import ErrorPolicy
from tomodachi.testing import FakeSnsSqs, HandlerCall, ServiceFactory

# ---- how many handlers run at once ------------------------------------------------------------------------


class Crowd(Gathering, tomodachi.Service):
    """``CROWD`` messages, each handler waiting for the others (see :class:`Gathering`)."""

    name = "delivery-crowd"
    message_envelope = JsonBase

    @tomodachi.aws_sns_sqs(queue_name="delivery-batch")  # a batch of up to 10 (the default)
    async def batch(self, data: int) -> None:
        await self.gather()

    @tomodachi.aws_sns_sqs(queue_name="delivery-single", max_number_of_consumed_messages=1)
    async def single(self, data: int) -> None:
        await self.gather()

    @tomodachi.aws_sns_sqs(queue_name="delivery-pair", max_number_of_consumed_messages=2)
    async def pair(self, data: int) -> None:
        await self.gather()


class NextCrowd(Crowd):
    """A later consumer of the same queues (its own class: its own uuid)."""

    name = "delivery-next-crowd"


@pytest.mark.parametrize(("handler", "peak"), [("batch", CROWD), ("pair", 2), ("single", 1)])
async def test_a_receive_batch_of_max_number_of_consumed_messages_runs_at_once(
    tomodachi_service: ServiceFactory, fake_sns_sqs: FakeSnsSqs, handler: str, peak: int
) -> None:
    first = await tomodachi_service(Crowd)
    await first.stop()  # the queues stay; what is sent now waits on them
    queue = f"delivery-{handler}"
    for n in range(CROWD):
        await fake_sns_sqs.send(queue, n)
    svc = await tomodachi_service(NextCrowd)  # its first receive finds every message waiting
    calls = await svc.wait_for_call(handler, count=CROWD, timeout=REAL_WAIT)
    assert sorted(call.data for call in calls) == list(range(CROWD))
    assert svc.instance.peak == peak


# ---- a handler slower than the visibility timeout ---------------------------------------------------------


class Slow(tomodachi.Service):
    """Its first receive of a message takes 2 s, twice the queue's visibility timeout."""

    name = "delivery-slow"
    message_envelope = JsonBase

    @tomodachi.aws_sns_sqs(queue_name="delivery-slow", visibility_timeout=1)
    async def handle(self, data: str, approximate_receive_count: int, sqs_message_id: str) -> None:
        if approximate_receive_count == 1:
            await asyncio.sleep(2)  # the virtual clock in memory, real time on real wires


class OtherSlow(Slow):
    """Another instance on the same queue (its own class: its own uuid)."""

    name = "delivery-other-slow"


def receives(*services: Any) -> list[HandlerCall]:
    return sorted((call for svc in services for call in svc.calls("handle")), key=lambda call: call.time)


async def test_a_handler_slower_than_the_visibility_timeout_sees_its_message_delivered_again_elsewhere(
    tomodachi_service: ServiceFactory, fake_sns_sqs: FakeSnsSqs, let_time_pass: LetTimePass
) -> None:
    first = await tomodachi_service(Slow)
    second = await tomodachi_service(OtherSlow)
    await fake_sns_sqs.send("delivery-slow", "job")
    await let_time_pass(1)  # the visibility timeout ends while the first receive's handler still runs
    await let_time_pass(1)
    await asyncio.gather(
        first.wait_for_call("handle", timeout=REAL_WAIT), second.wait_for_call("handle", timeout=REAL_WAIT)
    )
    await fake_sns_sqs.settle()

    slow, again = receives(first, second)
    assert (slow.service != again.service, slow.exception, again.exception) == (True, None, None)
    assert [call.arguments["approximate_receive_count"] for call in (slow, again)] == [1, 2]
    assert slow.arguments["sqs_message_id"] == again.arguments["sqs_message_id"]  # the same message, twice
    assert again.time - slow.time >= timedelta(seconds=1)  # invisible for its timeout, then not extended


class LateFailer(tomodachi.Service):
    """Its first receive takes 2 s, past the 1 s visibility timeout, and then fails: the retry asks SQS to hide
    the message for 5 s more."""

    name = "delivery-late-failer"
    message_envelope = JsonBase
    message_error_policy = ErrorPolicy(initial_delay=5.0, multiplier=1.0, max_delay=5.0)

    @tomodachi.aws_sns_sqs(queue_name="delivery-late", visibility_timeout=1)
    async def handle(self, data: str, approximate_receive_count: int) -> None:
        if approximate_receive_count == 1:
            await asyncio.sleep(2)
            raise RuntimeError("fails after its visibility timeout ended")


@pytest.mark.wire_difference(
    "real",
    reason="moto hides a message again when ChangeMessageVisibility names a receipt handle whose visibility "
    "timeout already ended (the second receive comes 7 s after the first: 2 s + the 5 s retry); SQS leaves the "
    "message visible (it answers MessageNotInflight, or OK and does nothing), and so does the in-memory SQS: the "
    "second receive comes at once, 2 s after the first",
)
async def test_a_retry_after_the_visibility_timeout_ended_cannot_hide_the_message_again(
    tomodachi_service: ServiceFactory, fake_sns_sqs: FakeSnsSqs, let_time_pass: LetTimePass
) -> None:
    svc = await tomodachi_service(LateFailer)
    svc.expect_errors(RuntimeError)
    await fake_sns_sqs.send("delivery-late", "job")
    await let_time_pass(2)
    await svc.wait_for_call("handle", timeout=REAL_WAIT)
    await let_time_pass(5)
    failed, again = await svc.wait_for_call("handle", count=2, timeout=REAL_WAIT)
    assert [call.arguments["approximate_receive_count"] for call in (failed, again)] == [1, 2]
    assert again.time - failed.time < timedelta(seconds=4)  # back at once, not 5 s after the failure


# ---- a service that stops while its handler runs ----------------------------------------------------------


class Holder(tomodachi.Service):
    """Its first receive of a message runs until the service stops; the queue's visibility timeout is 30 s."""

    name = "delivery-holder"
    message_envelope = JsonBase

    def __init__(self) -> None:
        self.holding = asyncio.Event()

    @tomodachi.aws_sns_sqs(queue_name="delivery-held", visibility_timeout=30)
    async def handle(self, data: str, approximate_receive_count: int) -> None:
        if approximate_receive_count == 1:
            self.holding.set()
            await asyncio.sleep(60)  # the virtual clock in memory, real time on real wires: cut off by the stop


class NextHolder(Holder):
    """A later consumer of the same queue (its own class: its own uuid)."""

    name = "delivery-next-holder"


async def test_a_message_whose_handler_is_cut_off_by_a_stop_is_handed_back_at_once(
    tomodachi_service: ServiceFactory, fake_sns_sqs: FakeSnsSqs
) -> None:
    first = await tomodachi_service(Holder)
    await fake_sns_sqs.send("delivery-held", "job")
    await asyncio.wait_for(first.instance.holding.wait(), REAL_WAIT)
    await first.stop(grace_period=0)  # cut off: made visible again at once, not after the 30 s timeout

    holder = await tomodachi_service(NextHolder)
    [again] = await holder.wait_for_call("handle", timeout=REAL_WAIT)  # no clock moved: it came back at once
    [cut] = first.calls("handle")
    assert type(cut.exception) is asyncio.CancelledError
    assert (again.data, again.exception, again.arguments["approximate_receive_count"]) == ("job", None, 2)
