"""SNS+SQS fidelity: what a handler, and a test through ``tomodachi.testing``, observes on the in-memory SNS+SQS
and on moto (``--tomodachi-wire=real``) — bodies, injected values and records, not just delivery.

Each scenario asserts the same thing on both wires. Where the wires differ, it is a strict xfail on the wire
that differs (``wire_difference``), with the values each wire shows in its reason.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

import tomodachi
from tests.conformance.kit import REAL_WAIT
from tomodachi.envelope import JsonBase
from tomodachi.testing import FakeSnsSqs, HandlerCall, ServiceFactory


def body_of(call: HandlerCall) -> Any:
    """The SQS message body the handler was given (``raw_message_body``), parsed when it is JSON."""
    raw = call.arguments["raw_message_body"]
    try:
        return json.loads(raw)
    except ValueError:
        return raw


# ---- a message the test sends straight to a queue ---------------------------------------------------------


class Inbox(tomodachi.Service):
    name = "fidelity-inbox"
    message_envelope = JsonBase

    @tomodachi.aws_sns_sqs(queue_name="fidelity-inbox")
    async def receive(
        self, data: dict[str, Any], message_type: str, message_timestamp: str | None, raw_message_body: str
    ) -> None:
        pass


class Forwarder(tomodachi.Service):
    """Sends what it gets to the inbox queue, the way every service does (``aws_sns_sqs_send_message``)."""

    name = "fidelity-forwarder"
    message_envelope = JsonBase

    @tomodachi.aws_sns_sqs("fidelity-forward", queue_name="fidelity-forward")
    async def forward(self, data: dict[str, Any]) -> None:
        await tomodachi.aws_sns_sqs_send_message(self, data, "fidelity-inbox")


# in memory, fake_sns_sqs.send() used to put the bare envelope in the SQS body (fixed: it formats the body as
# a service's aws_sns_sqs_send_message does)
async def test_a_message_the_test_sends_to_a_queue_looks_like_one_a_service_sends(
    tomodachi_service: ServiceFactory, fake_sns_sqs: FakeSnsSqs
) -> None:
    inbox = await tomodachi_service(Inbox)
    await tomodachi_service(Forwarder)
    await fake_sns_sqs.publish("fidelity-forward", {"from": "a service"})
    await fake_sns_sqs.settle()
    await inbox.wait_for_call("receive", timeout=REAL_WAIT)
    await fake_sns_sqs.send("fidelity-inbox", {"from": "the test"})
    await fake_sns_sqs.settle()
    await inbox.wait_for_call("receive", count=2, timeout=REAL_WAIT)

    calls = sorted(inbox.calls("receive"), key=lambda call: str(call.data["from"]))
    seen = [
        (call.data, call.arguments["message_type"], isinstance(call.arguments["message_timestamp"], str))
        for call in calls
    ]
    assert seen == [({"from": "a service"}, "Message", True), ({"from": "the test"}, "Message", True)]
    assert [sorted(body_of(call)) for call in calls] == [["Message", "QueueUrl", "Timestamp", "Type", "Version"]] * 2
    [sent] = [record for record in fake_sns_sqs.published("fidelity-inbox") if "the test" in record.text()]
    assert sent.json()["Type"] == "Message"  # the record holds the body as sent


# ---- raw publishes of data that is not text ---------------------------------------------------------------


class RawReader(tomodachi.Service):
    name = "fidelity-raw-reader"

    @tomodachi.aws_sns_sqs("fidelity-raw", queue_name="fidelity-raw", message_envelope=None)
    async def read(self, data: str) -> None:
        pass


# on the real wire, fake_sns_sqs.publish(data, envelope=None) used to refuse a dict (fixed: sent as JSON, as in
# memory)
async def test_a_raw_publish_of_a_dict_from_the_test_is_sent_as_json(
    tomodachi_service: ServiceFactory, fake_sns_sqs: FakeSnsSqs
) -> None:
    reader = await tomodachi_service(RawReader)
    refused: TypeError | None = None
    try:
        await fake_sns_sqs.publish("fidelity-raw", {"n": 1}, envelope=None)
    except TypeError as exc:  # turned into an assertion: a wire difference is strict about failing on one
        refused = exc
    assert refused is None, f"the raw publish of a dict was refused: {refused}"
    [call] = await reader.wait_for_call("read", timeout=REAL_WAIT)
    assert call.data == '{"n": 1}'


# ---- what the published records say ----------------------------------------------------------------------


class Alerts(tomodachi.Service):
    name = "fidelity-alerts"
    message_envelope = JsonBase

    @tomodachi.aws_sns_sqs("fidelity-alert", queue_name="fidelity-alerts")
    async def alert(self, data: str, message_attributes: dict[str, Any]) -> None:
        pass


ATTRIBUTES: dict[str, Any] = {"team": "ops", "severity": 5, "ratio": 0.5, "urgent": True, "tags": ["a", 1]}


# on the real wire, PublishedMessage.attributes used to hold the botocore form (fixed: plain values)
async def test_a_published_record_holds_the_attributes_as_the_handler_gets_them(
    tomodachi_service: ServiceFactory, fake_sns_sqs: FakeSnsSqs
) -> None:
    svc = await tomodachi_service(Alerts)
    returned = await fake_sns_sqs.publish("fidelity-alert", "disk full", attributes=ATTRIBUTES)
    await fake_sns_sqs.settle()
    [call] = await svc.wait_for_call("alert", timeout=REAL_WAIT)

    assert dict(call.arguments["message_attributes"]) == ATTRIBUTES  # the same on both wires
    [recorded] = fake_sns_sqs.published("fidelity-alert")
    assert dict(returned.attributes) == ATTRIBUTES
    assert dict(recorded.attributes) == ATTRIBUTES


# ---- SNS FIFO notifications -------------------------------------------------------------------------------


class Ledger(tomodachi.Service):
    name = "fidelity-ledger"
    message_envelope = JsonBase

    @tomodachi.aws_sns_sqs("fidelity-ledger", fifo=True, queue_name="fidelity-ledger.fifo")
    async def apply(self, data: str, raw_message_body: str, message_group_id: str) -> None:
        pass


@pytest.mark.wire_difference(
    "real",
    reason="moto's SNS FIFO notification has no SequenceNumber; SNS (and the in-memory SNS) put one in every "
    "FIFO notification, increasing within a group",
)
async def test_an_sns_fifo_notification_carries_a_sequence_number(
    tomodachi_service: ServiceFactory, fake_sns_sqs: FakeSnsSqs
) -> None:
    svc = await tomodachi_service(Ledger)
    await fake_sns_sqs.publish("fidelity-ledger", "first", group_id="g", deduplication_id="1")
    await fake_sns_sqs.publish("fidelity-ledger", "second", group_id="g", deduplication_id="2")
    await fake_sns_sqs.settle()
    calls = await svc.wait_for_call("apply", count=2, timeout=REAL_WAIT)

    assert [(call.data, call.arguments["message_group_id"]) for call in calls] == [("first", "g"), ("second", "g")]
    bodies = [body_of(call) for call in calls]
    assert [body["Type"] for body in bodies] == ["Notification"] * 2  # the same on both wires
    numbers = [body.get("SequenceNumber") for body in bodies]
    assert all(isinstance(number, str) and number.isdigit() for number in numbers), numbers
    assert int(numbers[0]) < int(numbers[1])
