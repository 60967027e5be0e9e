"""SNS+SQS transport and consumer corner cases that could lose an error or lose or duplicate a message."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest

import tomodachi
from tomodachi.envelope import JsonBase
from tomodachi.messaging.sns_sqs.client import AwsApiError
from tomodachi.transport.aws_sns_sqs import AWSSNSSQSInternalServiceError


class Simple(tomodachi.Service):
    name = "simple"
    message_envelope = JsonBase
    got: list[Any]

    def __init__(self) -> None:
        self.got = []

    @tomodachi.aws_sns_sqs("review-topic")
    async def handler(self, data: Any) -> None:
        self.got.append(data)


async def test_a_failing_delete_is_logged_and_the_message_comes_back(
    tomodachi_service: Any, fake_sns_sqs: Any, virtual_clock: Any, caplog: pytest.LogCaptureFixture
) -> None:
    svc = await tomodachi_service(Simple)
    real_delete = fake_sns_sqs.broker.aws.delete_message
    failures = [AwsApiError("InternalError", "injected delete failure")]

    async def flaky_delete(queue_url: str, receipt_handle: str) -> None:
        if failures:
            raise failures.pop()
        await real_delete(queue_url, receipt_handle)

    fake_sns_sqs.broker.aws.delete_message = flaky_delete
    with caplog.at_level(logging.ERROR):
        await fake_sns_sqs.publish("review-topic", {"n": 1})
        for _ in range(20):  # (drain would wait for the undeleted message's visibility timeout)
            await virtual_clock.advance(0)
    assert svc.instance.got == [{"n": 1}]
    # the pipeline task's failure must surface in tomodachi's log, not vanish with the task
    logged = [r for r in caplog.records if r.name.startswith("tomodachi") and r.exc_info]
    assert any("injected delete failure" in str(r.exc_info[1]) for r in logged if r.exc_info), caplog.text
    await virtual_clock.advance(30)  # the visibility timeout: SQS hands the undeleted message out again
    await fake_sns_sqs.settle()
    assert svc.instance.got == [{"n": 1}]  # the redelivery is recognised as a duplicate and deleted
    assert fake_sns_sqs.messages(fake_sns_sqs.subscriptions("review-topic")[0].queue) == []


class FifoLedger(tomodachi.Service):
    name = "fifo-ledger"
    message_envelope = JsonBase
    seen: list[Any]

    def __init__(self) -> None:
        self.seen = []

    @tomodachi.aws_sns_sqs("review-ledger", fifo=True)
    async def entry(self, data: Any) -> None:
        self.seen.append(data)

    @tomodachi.aws_sns_sqs(queue_name="review-inbox.fifo", fifo=True)
    async def inbox(self, data: Any) -> None:
        self.seen.append(("inbox", data))


def _lose_first_response(fake: Any, method: str) -> list[str | None]:
    """The first call reaches the bus but its answer is lost (a timeout), so the publisher tries again."""
    real = getattr(fake, method)
    dedup_ids: list[str | None] = []

    async def flaky(*args: Any, **kwargs: Any) -> str:
        dedup_ids.append(kwargs.get("deduplication_id"))
        result: str = await real(*args, **kwargs)
        if len(dedup_ids) == 1:
            raise AwsApiError("RequestTimeout", "injected: response lost after the message was accepted")
        return result

    setattr(fake, method, flaky)
    return dedup_ids


async def test_retried_fifo_publish_reuses_its_deduplication_id(tomodachi_service: Any, fake_sns_sqs: Any) -> None:
    svc = await tomodachi_service(FifoLedger)
    dedup_ids = _lose_first_response(fake_sns_sqs.broker.aws, "sns_publish")
    await tomodachi.sns_publish(svc.instance, {"n": 1}, "review-ledger", group_id="g")
    await fake_sns_sqs.settle()
    assert len(dedup_ids) == 2 and dedup_ids[0] == dedup_ids[1]
    assert svc.instance.seen == [{"n": 1}]  # delivered once, not once per attempt


async def test_retried_fifo_send_reuses_its_deduplication_id(tomodachi_service: Any, fake_sns_sqs: Any) -> None:
    svc = await tomodachi_service(FifoLedger)
    dedup_ids = _lose_first_response(fake_sns_sqs.broker.aws, "send_message")
    await tomodachi.sqs_send_message(svc.instance, {"n": 2}, "review-inbox.fifo", group_id="g")
    await fake_sns_sqs.settle()
    assert len(dedup_ids) == 2 and dedup_ids[0] == dedup_ids[1]
    assert svc.instance.seen == [("inbox", {"n": 2})]


class RedriveWatcher(tomodachi.Service):
    name = "redrive-watcher"
    message_envelope = JsonBase
    message_error_policy = "upstream"  # internal errors never dead-letter in the pipeline: SQS redrive does
    attempts: list[int]
    parked: list[Any]

    def __init__(self) -> None:
        self.attempts = []
        self.parked = []

    @tomodachi.aws_sns_sqs("review-jobs", dead_letter_queue_name="review-jobs-dlq", max_receive_count=2)
    async def work(self, data: Any, approximate_receive_count: int) -> None:
        self.attempts.append(approximate_receive_count)
        raise AWSSNSSQSInternalServiceError("try again later")

    @tomodachi.aws_sns_sqs(queue_name="review-jobs-dlq")
    async def dead(self, data: Any) -> None:
        self.parked.append(data)


async def test_sqs_redrive_wakes_the_dead_letter_queue_consumer(
    tomodachi_service: Any, fake_sns_sqs: Any, virtual_clock: Any
) -> None:
    svc = await tomodachi_service(RedriveWatcher)
    await fake_sns_sqs.publish("review-jobs", {"n": 1})
    await fake_sns_sqs.settle()
    await virtual_clock.advance(60)
    await fake_sns_sqs.settle()
    assert svc.instance.attempts == [1, 2]
    await virtual_clock.advance(60)  # the third receive moves it to the dead-letter queue (SQS redrive)
    await fake_sns_sqs.settle()  # used to time out: the dead-letter queue's consumer was never woken
    assert svc.instance.attempts == [1, 2]
    assert svc.instance.parked == [{"n": 1}]
    [redriven] = fake_sns_sqs.take_dead_letters()
    assert (redriven.handler, redriven.receive_count, redriven.data) == (None, 2, {"n": 1})
    svc.expect_errors(AWSSNSSQSInternalServiceError)


class Stuck(tomodachi.Service):
    name = "stuck"
    message_envelope = JsonBase
    started: list[Any]

    def __init__(self) -> None:
        self.started = []

    @tomodachi.aws_sns_sqs("review-stuck", visibility_timeout=600)
    async def handler(self, data: Any) -> None:
        self.started.append(data)
        await asyncio.Event().wait()  # never finishes on its own


async def test_handlers_cut_off_at_the_grace_period_hand_their_message_back(
    tomodachi_service: Any, fake_sns_sqs: Any, virtual_clock: Any
) -> None:
    svc = await tomodachi_service(Stuck)
    await fake_sns_sqs.publish("review-stuck", {"n": 1})
    for _ in range(20):
        if svc.instance.started:
            break
        await virtual_clock.advance(0)
    assert svc.instance.started == [{"n": 1}]
    stopping = asyncio.ensure_future(svc.stop())
    for _ in range(20):
        await virtual_clock.advance(5)  # past the grace period (30 s by default)
        if stopping.done():
            break
    await asyncio.wait_for(stopping, 5)
    [queue] = [s.queue for s in fake_sns_sqs.subscriptions("review-stuck")]
    [message] = fake_sns_sqs.messages(queue)
    # visible again at once for another consumer, not after the 10-minute visibility timeout
    assert not message.in_flight


class RawInbox(tomodachi.Service):
    name = "raw-inbox"
    got: list[Any]

    def __init__(self) -> None:
        self.got = []

    @tomodachi.aws_sns_sqs(queue_name="review-raw-inbox")
    async def inbox(self, body: str) -> None:
        self.got.append(body)


async def test_a_non_string_message_field_reaches_the_handler_as_json(
    tomodachi_service: Any, fake_sns_sqs: Any
) -> None:
    svc = await tomodachi_service(RawInbox)
    # a foreign producer's SQS body whose "Message" is an object rather than a string
    await fake_sns_sqs.send(
        "review-raw-inbox", {"Type": "Message", "Message": {"a": 1, "b": [True, None]}}, envelope=None
    )
    await fake_sns_sqs.settle()
    assert [json.loads(body) for body in svc.instance.got] == [{"a": 1, "b": [True, None]}]
