"""A message a service sends straight to an SQS queue is recorded with the data its handler gets: the record's
payload is the body as sent (the document the MessageBodyFormatter wraps the message in), its ``data`` what is
inside."""

from __future__ import annotations

from typing import Any

import tomodachi
from tomodachi.envelope.json_base import JsonBase
from tomodachi.testing import FakeSnsSqs, ServiceFactory


class Inbox(tomodachi.Service):
    name = "inbox"
    message_envelope = JsonBase

    @tomodachi.aws_sns_sqs(queue_name="inbox", dead_letter_queue_name="inbox-dlq", max_receive_count=1)
    async def receive(self, data: dict[str, Any]) -> None:
        if data.get("fail"):
            raise ValueError("cannot take it")


class Forwarder(tomodachi.Service):
    name = "forwarder"
    message_envelope = JsonBase

    @tomodachi.aws_sns_sqs("forward", queue_name="forward")
    async def forward(self, data: dict[str, Any]) -> None:
        await tomodachi.aws_sns_sqs_send_message(self, data, "inbox")


async def test_a_sent_message_is_recorded_with_the_data_the_handler_gets(
    tomodachi_service: ServiceFactory, fake_sns_sqs: FakeSnsSqs
) -> None:
    inbox = await tomodachi_service(Inbox)
    await tomodachi_service(Forwarder)
    await fake_sns_sqs.publish("forward", {"order": 1})
    await fake_sns_sqs.settle()

    [sent] = fake_sns_sqs.published("inbox")
    assert sent.kind == "sqs"
    assert sent.json()["Type"] == "Message"  # the body as sent
    assert sent.data == {"order": 1} == inbox.calls("receive")[0].data
    assert sent.metadata["topic"] == ""  # the JsonBase envelope inside, sent to no topic


async def test_a_sent_message_that_is_dead_lettered_keeps_the_data_the_handler_got(
    tomodachi_service: ServiceFactory, fake_sns_sqs: FakeSnsSqs
) -> None:
    inbox = await tomodachi_service(Inbox)
    inbox.expect_errors(ValueError)
    await tomodachi_service(Forwarder)
    await fake_sns_sqs.publish("forward", {"order": 2, "fail": True})
    await fake_sns_sqs.settle()

    [dead] = fake_sns_sqs.take_dead_letters("inbox")
    assert dead.data == {"order": 2, "fail": True}
    [queued] = fake_sns_sqs.messages("inbox-dlq")
    assert queued.data == {"order": 2, "fail": True}
