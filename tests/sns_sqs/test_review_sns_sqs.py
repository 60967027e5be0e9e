"""Adversarial review: SNS+SQS transport / consumer corner cases (lost errors, lost or duplicated messages)."""

from __future__ import annotations

import logging
from typing import Any

import pytest

import tomodachi
from tomodachi.envelope import JsonBase
from tomodachi.messaging.sns_sqs.client import AwsApiError


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
    real_delete = fake_sns_sqs.delete_message
    failures = [AwsApiError("InternalError", "injected delete failure")]

    async def flaky_delete(queue_url: str, receipt_handle: str) -> None:
        if failures:
            raise failures.pop()
        await real_delete(queue_url, receipt_handle)

    fake_sns_sqs.delete_message = flaky_delete
    with caplog.at_level(logging.ERROR):
        await fake_sns_sqs.publish("review-topic", {"n": 1})
        for _ in range(20):  # (drain would wait for the undeleted message's visibility timeout)
            await virtual_clock.advance(0)
    assert svc.instance.got == [{"n": 1}]
    # the pipeline task's failure must surface in tomodachi's log, not vanish with the task
    logged = [r for r in caplog.records if r.name.startswith("tomodachi") and r.exc_info]
    assert any("injected delete failure" in str(r.exc_info[1]) for r in logged if r.exc_info), caplog.text
    await virtual_clock.advance(30)  # the visibility timeout: SQS hands the undeleted message out again
    await fake_sns_sqs.drain()
    assert svc.instance.got == [{"n": 1}]  # the redelivery is recognised as a duplicate and deleted
    assert fake_sns_sqs.messages(fake_sns_sqs.subscriptions("review-topic")[0].queue) == []
