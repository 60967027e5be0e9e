"""What the in-memory SNS+SQS refuses, as SNS and SQS do: attribute names, empty or untyped attribute values, and
messages over SNS's 256 KiB or a queue's MaximumMessageSize (1 MiB) — each just under and just over its limit, with
AWS's error code. A refused publish or send records and delivers nothing; a service's publish raises the refusal at
once instead of retrying it."""

from __future__ import annotations

import json
from typing import Any

import pytest

import tomodachi
from tomodachi.envelope import JsonBase
from tomodachi.messaging.sns_sqs import queue_policy
from tomodachi.messaging.sns_sqs.client import AwsApiError
from tomodachi.messaging.sns_sqs.memory import MemorySnsSqsClient
from tomodachi.testing.clock import VirtualClock

SNS_LIMIT = 262_144
SQS_LIMIT = 1_048_576
INVALID_NAMES = [
    "my note",  # a space
    "né",  # a letter outside A-Z a-z
    "a/b",
    "",
    ".note",
    "note.",
    "my..note",
    "AWS.note",
    "aws.note",
    "Amazon.note",
    "AMAZON.note",
    "n" * 257,
]
VALID_NAMES = ["n" * 256, "my.note", "My-Note_2", "AWSnote", "amazon-note", "x"]


def string(value: str) -> dict[str, Any]:
    return {"DataType": "String", "StringValue": value}


async def sns_to_queue(aws: MemorySnsSqsClient, queue_attributes: dict[str, str] | None = None) -> tuple[str, str]:
    """A topic ``t`` with queue ``q`` subscribed (and its policy letting ``t`` send); returns (topic ARN, queue URL)."""
    url = await aws.create_queue("q", queue_attributes or {})
    topic = await aws.create_topic("t", {})
    queue_arn = aws.queue_attributes("q")["QueueArn"]
    policy = {"Version": "2012-10-17", "Statement": [queue_policy.statement(queue_arn, topic)]}
    await aws.set_queue_attributes(url, {"Policy": json.dumps(policy)})
    await aws.subscribe(topic, queue_arn, {})
    return topic, url


async def refused(coro: Any) -> AwsApiError:
    with pytest.raises(AwsApiError) as info:
        await coro
    return info.value


# ---- SNS Publish -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "attribute",
    [string(""), {"DataType": "Number", "StringValue": ""}, {"DataType": "Binary", "BinaryValue": b""}],
    ids=["string", "number", "binary"],
)
async def test_sns_refuses_an_empty_attribute_value_and_publishes_nothing(attribute: dict[str, Any]) -> None:
    aws = MemorySnsSqsClient(VirtualClock(freeze_wall_clock=False))
    topic, _ = await sns_to_queue(aws)

    error = await refused(aws.sns_publish(topic, "x", message_attributes={"note": attribute}))

    assert error.code == "ParameterValueInvalid" and error.refusal
    assert "must contain non-empty message attribute value" in error.message
    assert aws.published == [] and aws.messages("q") == []


async def test_sns_takes_a_one_character_attribute_value() -> None:
    aws = MemorySnsSqsClient(VirtualClock(freeze_wall_clock=False))
    topic, _ = await sns_to_queue(aws)

    await aws.sns_publish(topic, "x", message_attributes={"note": string("a")})

    [message] = aws.messages("q")
    assert json.loads(message.body)["MessageAttributes"] == {"note": {"Type": "String", "Value": "a"}}


@pytest.mark.parametrize("name", INVALID_NAMES)
async def test_sns_refuses_an_attribute_name_aws_does_not_allow(name: str) -> None:
    aws = MemorySnsSqsClient(VirtualClock(freeze_wall_clock=False))
    topic, _ = await sns_to_queue(aws)

    error = await refused(aws.sns_publish(topic, "x", message_attributes={name: string("a")}))

    assert error.code == "ParameterValueInvalid"
    assert aws.published == [] and aws.messages("q") == []


@pytest.mark.parametrize("name", VALID_NAMES, ids=lambda name: name[:16])
async def test_sns_takes_an_attribute_name_aws_allows(name: str) -> None:
    aws = MemorySnsSqsClient(VirtualClock(freeze_wall_clock=False))
    topic, _ = await sns_to_queue(aws)

    await aws.sns_publish(topic, "x", message_attributes={name: string("a")})

    assert len(aws.messages("q")) == 1


async def test_sns_refuses_an_attribute_type_other_than_string_number_or_binary() -> None:
    aws = MemorySnsSqsClient(VirtualClock(freeze_wall_clock=False))
    topic, _ = await sns_to_queue(aws)

    error = await refused(
        aws.sns_publish(topic, "x", message_attributes={"n": {"DataType": "Text", "StringValue": "a"}})
    )
    await aws.sns_publish(topic, "x", message_attributes={"n": {"DataType": "Number.int", "StringValue": "1"}})

    assert error.code == "ParameterValueInvalid" and "invalid message attribute type" in error.message
    assert len(aws.messages("q")) == 1


async def test_sns_delivers_a_message_of_256_kib_and_refuses_one_byte_more() -> None:
    aws = MemorySnsSqsClient(VirtualClock(freeze_wall_clock=False))
    topic, _ = await sns_to_queue(aws)

    await aws.sns_publish(topic, "x" * SNS_LIMIT)
    error = await refused(aws.sns_publish(topic, "x" * (SNS_LIMIT + 1)))

    assert (error.code, error.message) == ("InvalidParameter", "Invalid parameter: Message too long")
    assert [record.message for record in aws.published] == ["x" * SNS_LIMIT]
    [message] = aws.messages("q")
    assert message.payload == "x" * SNS_LIMIT


async def test_sns_counts_utf8_bytes_and_every_part_of_each_attribute() -> None:
    aws = MemorySnsSqsClient(VirtualClock(freeze_wall_clock=False))
    topic, _ = await sns_to_queue(aws)
    attributes = {"note": string("abc")}  # 4 + 6 ("String") + 3 bytes
    body = SNS_LIMIT - 13

    await aws.sns_publish(topic, "x" * body, message_attributes=attributes)
    too_long = await refused(aws.sns_publish(topic, "x" * (body + 1), message_attributes=attributes))
    await aws.sns_publish(topic, "é" * (SNS_LIMIT // 2))  # two bytes each: 256 KiB
    multibyte = await refused(aws.sns_publish(topic, "é" * (SNS_LIMIT // 2) + "x"))

    assert too_long.code == multibyte.code == "InvalidParameter"
    assert len(aws.published) == 2 and len(aws.messages("q")) == 2


async def test_a_notification_sns_accepted_reaches_a_queue_whose_limit_it_exceeds() -> None:
    aws = MemorySnsSqsClient(VirtualClock(freeze_wall_clock=False))
    topic, url = await sns_to_queue(aws, {"MaximumMessageSize": "1024"})

    await aws.sns_publish(topic, "x" * SNS_LIMIT)
    error = await refused(aws.send_message(url, "x" * 1025))

    assert len(aws.messages("q")) == 1  # SQS takes what SNS delivers
    assert error.code == "InvalidParameterValue"


# ---- SQS SendMessage ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", INVALID_NAMES)
async def test_sqs_refuses_an_attribute_name_aws_does_not_allow(name: str) -> None:
    aws = MemorySnsSqsClient(VirtualClock(freeze_wall_clock=False))
    url = await aws.create_queue("q", {})

    error = await refused(aws.send_message(url, "x", message_attributes={name: string("a")}))

    assert error.code == "InvalidParameterValue" and error.refusal
    assert aws.published == [] and aws.messages("q") == []


@pytest.mark.parametrize("name", VALID_NAMES, ids=lambda name: name[:16])
async def test_sqs_takes_an_attribute_name_aws_allows(name: str) -> None:
    aws = MemorySnsSqsClient(VirtualClock(freeze_wall_clock=False))
    url = await aws.create_queue("q", {})

    await aws.send_message(url, "x", message_attributes={name: string("a")})

    [message] = aws.messages("q")
    assert message.message_attributes == {name: "a"}


async def test_sqs_refuses_an_empty_or_untyped_attribute_value() -> None:
    aws = MemorySnsSqsClient(VirtualClock(freeze_wall_clock=False))
    url = await aws.create_queue("q", {})

    empty = await refused(aws.send_message(url, "x", message_attributes={"note": string("")}))
    untyped = await refused(aws.send_message(url, "x", message_attributes={"note": {"StringValue": "a"}}))
    await aws.send_message(url, "x", message_attributes={"note": string("a")})

    assert empty.code == untyped.code == "InvalidParameterValue"
    assert empty.message == "Message (user) attribute 'note' must contain a non-empty value of type 'String'."
    assert len(aws.messages("q")) == 1 and len(aws.published) == 1


async def test_sqs_takes_a_message_of_1_mib_and_refuses_one_byte_more() -> None:
    aws = MemorySnsSqsClient(VirtualClock(freeze_wall_clock=False))
    url = await aws.create_queue("q", {})

    await aws.send_message(url, "x" * SQS_LIMIT)
    error = await refused(aws.send_message(url, "x" * (SQS_LIMIT + 1)))

    assert error.code == "InvalidParameterValue"
    assert error.message == "One or more parameters are invalid. Reason: Message must be shorter than 1048576 bytes."
    assert [record.message for record in aws.published] == ["x" * SQS_LIMIT]
    assert [len(message.body) for message in aws.messages("q")] == [SQS_LIMIT]


async def test_sqs_counts_attributes_and_keeps_to_the_queues_maximum_message_size() -> None:
    aws = MemorySnsSqsClient(VirtualClock(freeze_wall_clock=False))
    url = await aws.create_queue("q", {"MaximumMessageSize": "1024"})
    attributes = {"blob": {"DataType": "Binary", "BinaryValue": b"\x00\xff"}}  # 4 + 6 ("Binary") + 2 bytes

    await aws.send_message(url, "x" * (1024 - 12), message_attributes=attributes)
    with_attributes = await refused(aws.send_message(url, "x" * (1024 - 11), message_attributes=attributes))
    await aws.send_message(url, "x" * 1024)
    body_only = await refused(aws.send_message(url, "x" * 1025))

    assert with_attributes.code == body_only.code == "InvalidParameterValue"
    assert "shorter than 1024 bytes" in body_only.message
    assert len(aws.messages("q")) == 2 and len(aws.published) == 2


async def test_redrive_moves_a_message_whatever_the_dead_letter_queues_limit() -> None:
    clock = VirtualClock(freeze_wall_clock=False)
    aws = MemorySnsSqsClient(clock)
    await aws.create_queue("dlq", {"MaximumMessageSize": "1024"})
    policy = {"deadLetterTargetArn": aws.queue_attributes("dlq")["QueueArn"], "maxReceiveCount": "1"}
    url = await aws.create_queue("q", {"VisibilityTimeout": "1", "RedrivePolicy": json.dumps(policy)})

    await aws.send_message(url, "x" * 2048)
    assert len(await aws.receive_messages(url, 1, 0)) == 1
    await clock.advance(1)
    assert await aws.receive_messages(url, 1, 0) == []

    assert [len(message.body) for message in aws.messages("dlq")] == [2048]


# ---- what a service's publish and send raise ---------------------------------------------------------------


class Publisher(tomodachi.Service):
    name = "limits-publisher"
    message_envelope = JsonBase


async def test_a_refused_service_publish_raises_the_refusal_at_once(tomodachi_service: Any, fake_sns_sqs: Any) -> None:
    svc = await tomodachi_service(Publisher)
    aws = fake_sns_sqs.broker.aws

    with pytest.raises(AwsApiError) as empty:
        await tomodachi.sns_publish(svc.instance, {"a": 1}, "limits", message_attributes={"note": ""})
    with pytest.raises(AwsApiError) as too_long:
        await tomodachi.sns_publish(svc.instance, "x" * (SNS_LIMIT + 1), "limits", message_envelope=None)

    assert (empty.value.code, too_long.value.code) == ("ParameterValueInvalid", "InvalidParameter")
    assert aws.calls["sns_publish"] == 2  # not retried
    assert fake_sns_sqs.published() == []


async def test_a_refused_service_send_raises_the_refusal_at_once(tomodachi_service: Any, fake_sns_sqs: Any) -> None:
    svc = await tomodachi_service(Publisher)
    aws = fake_sns_sqs.broker.aws
    await aws.create_queue("limits-box", {})

    with pytest.raises(AwsApiError) as bad_name:
        await tomodachi.sqs_send_message(svc.instance, {"a": 1}, "limits-box", message_attributes={"my note": "a"})
    with pytest.raises(AwsApiError) as too_long:
        await tomodachi.sqs_send_message(
            svc.instance, "x" * (SQS_LIMIT + 1), "limits-box", message_envelope=None, message_body_formatter=None
        )

    assert bad_name.value.code == too_long.value.code == "InvalidParameterValue"
    assert aws.calls["send_message"] == 2  # not retried
    assert fake_sns_sqs.published() == [] and aws.messages("limits-box") == []


async def test_a_transient_failure_is_still_retried(tomodachi_service: Any, fake_sns_sqs: Any) -> None:
    svc = await tomodachi_service(Publisher)
    fake_sns_sqs.fail_next_publishes(2)

    await tomodachi.sns_publish(svc.instance, {"a": 1}, "limits")

    assert fake_sns_sqs.broker.aws.calls["sns_publish"] == 3
    assert len(fake_sns_sqs.published()) == 1


async def test_a_test_publish_the_in_memory_sns_refuses_raises_and_is_not_recorded(fake_sns_sqs: Any) -> None:
    with pytest.raises(AwsApiError) as info:
        await fake_sns_sqs.publish("limits", "x", envelope=None, attributes={"note": ""})

    assert info.value.code == "ParameterValueInvalid"
    assert fake_sns_sqs.published() == []
