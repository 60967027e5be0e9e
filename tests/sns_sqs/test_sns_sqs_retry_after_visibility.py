"""A retry of a message whose visibility timeout already ended (its handler ran longer than the timeout): SQS has
made it visible again, and answers ``MessageNotInflight`` (or OK, doing nothing) to ``ChangeMessageVisibility``.
The retry is done, whatever its delay: the message is received again at once, and nothing is logged as an error.

A receipt handle that is no longer valid (the message was received again since) still cannot delay the new
receive (``tests/sns_sqs/test_sns_sqs_receiver_settling.py``)."""

from __future__ import annotations

import asyncio
import logging

import pytest

import tomodachi
from tomodachi.envelope import JsonBase
from tomodachi.messaging.pipeline import ErrorPolicy
from tomodachi.messaging.sns_sqs.consumer import SqsDelivery
from tomodachi.messaging.sns_sqs.memory import MemorySnsSqsClient
from tomodachi.testing import FakeSnsSqs, ServiceFactory, VirtualClock


@pytest.mark.parametrize("delay", [0, 1, 60])
async def test_a_retry_of_a_message_visible_again_is_done_whatever_its_delay(
    delay: int, caplog: pytest.LogCaptureFixture
) -> None:
    clock = VirtualClock()
    client = MemorySnsSqsClient(clock)
    url = await client.create_queue("jobs", {"VisibilityTimeout": "30"})
    await client.send_message(url, "job")
    [message] = await client.receive_messages(url, 1, 0)
    await clock.advance(31)  # the handler ran past the visibility timeout: the message is visible again

    with caplog.at_level(logging.DEBUG, logger="tomodachi.awssnssqs"):
        await SqsDelivery(client, url, message).retry(delay)  # SQS answers MessageNotInflight: nothing to hide

    [again] = await client.receive_messages(url, 1, 0)  # at once, not after the retry's delay
    assert (again["Body"], again["MessageId"]) == ("job", message["MessageId"])
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert any("visible again" in r.getMessage() for r in caplog.records)


class LateFailer(tomodachi.Service):
    """Its first receive takes 2 s, past the queue's 1 s visibility timeout, and then fails: the retry asks SQS
    to hide the message for 5 s more, but SQS made it visible again already."""

    name = "late-failer"
    message_envelope = JsonBase
    message_error_policy = ErrorPolicy(initial_delay=5.0, multiplier=1.0, max_delay=5.0)

    @tomodachi.aws_sns_sqs(queue_name="late-jobs", visibility_timeout=1)
    async def handle(self, data: str, approximate_receive_count: int) -> None:
        if approximate_receive_count == 1:
            await asyncio.sleep(2)
            raise RuntimeError("fails after its visibility timeout ended")


async def test_a_late_failure_is_received_again_at_once_and_the_pipeline_logs_no_error(
    tomodachi_service: ServiceFactory,
    fake_sns_sqs: FakeSnsSqs,
    virtual_clock: VirtualClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    svc = await tomodachi_service(LateFailer)
    svc.expect_errors(RuntimeError)
    start = virtual_clock.now()
    with caplog.at_level(logging.DEBUG):
        await fake_sns_sqs.send("late-jobs", "job")
        await fake_sns_sqs.settle()
        await virtual_clock.advance(2)  # the handler fails 1 s after the message became visible again
        failed, again = await svc.wait_for_call("handle", count=2, timeout=5)  # no more clock: back at once

    assert [call.arguments["approximate_receive_count"] for call in (failed, again)] == [1, 2]
    assert (type(failed.exception), again.exception) == (RuntimeError, None)
    assert virtual_clock.now() - start == again.time - start  # received again at 2 s, not 7 s
    assert (again.time - start).total_seconds() == 2
    # the handler's own failure is logged as such; its retry finding the message visible again is no error
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert [message.split(":")[0] for message in errors] == ["uncaught exception"], errors
    assert not any("message pipeline failed" in r.getMessage() for r in caplog.records)
