"""SNS+SQS semantics: what SNS and SQS themselves decide, on the in-memory SNS+SQS and on moto
(``--tomodachi-wire=real``) — filter policy operators, attribute and size limits, delays, ids and missing queues.

Each scenario asserts the same thing on both wires. Where the wires differ, it is a strict xfail on the wire
that differs (``wire_difference``), with the values each wire shows in its reason. A refusal is turned into an
assertion (``refusal``): a strict xfail counts only an ``AssertionError``.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest

import tomodachi
from tests.conformance.kit import REAL_WAIT, LetTimePass, refusal
from tomodachi.envelope import JsonBase
from tomodachi.messaging.sns_sqs.exceptions import QueueDoesNotExistError
from tomodachi.testing import FakeSnsSqs, ServiceFactory, ServiceHandle

UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
SNS_LIMIT = 256 * 1024  # bytes in an SNS message
SQS_LIMIT = 1024 * 1024  # bytes in an SQS message (AWS and moto 5.x)


# ---- filter policy operators ------------------------------------------------------------------------------


class Router(tomodachi.Service):
    """One subscription of the same topic per filter policy operator, and one without a policy."""

    name = "semantics-router"
    message_envelope = JsonBase

    @tomodachi.aws_sns_sqs("semantics-event", queue_name="semantics-eu", filter_policy={"region": [{"prefix": "eu-"}]})
    async def eu(self, data: str) -> None:
        pass

    @tomodachi.aws_sns_sqs(
        "semantics-event", queue_name="semantics-not-test", filter_policy={"team": [{"anything-but": ["test", "qa"]}]}
    )
    async def not_test(self, data: str) -> None:
        pass

    @tomodachi.aws_sns_sqs(
        "semantics-event", queue_name="semantics-mid", filter_policy={"severity": [{"numeric": [">", 2, "<=", 4]}]}
    )
    async def mid(self, data: str) -> None:
        pass

    @tomodachi.aws_sns_sqs(
        "semantics-event", queue_name="semantics-unmuted", filter_policy={"muted": [{"exists": False}]}
    )
    async def unmuted(self, data: str) -> None:
        pass

    @tomodachi.aws_sns_sqs(
        "semantics-event",
        queue_name="semantics-either",
        filter_policy={"$or": [{"team": ["ops"]}, {"severity": [{"numeric": [">=", 5]}]}]},
    )
    async def either(self, data: str) -> None:
        pass

    @tomodachi.aws_sns_sqs("semantics-event", queue_name="semantics-tagged", filter_policy={"tags": ["urgent"]})
    async def tagged(self, data: str) -> None:
        pass

    @tomodachi.aws_sns_sqs(
        "semantics-event", queue_name="semantics-ops", filter_policy={"team": [{"equals-ignore-case": "OPS"}]}
    )
    async def ops(self, data: str) -> None:
        pass

    @tomodachi.aws_sns_sqs("semantics-event", queue_name="semantics-all")
    async def all(self, data: str) -> None:
        pass


async def route(
    tomodachi_service: ServiceFactory, fake_sns_sqs: FakeSnsSqs, events: list[tuple[str, dict[str, Any]]]
) -> ServiceHandle[Router]:
    """Publish ``events`` (text, attributes) to the router's topic; return once every subscription had its chance
    (the unfiltered one got them all, then a settle: SNS fans out at publish)."""
    svc = await tomodachi_service(Router)
    for text, attributes in events:
        await fake_sns_sqs.publish("semantics-event", text, attributes=attributes or None)
    await fake_sns_sqs.settle()
    await svc.wait_for_call("all", count=len(events), timeout=REAL_WAIT)
    await fake_sns_sqs.settle()
    return svc


def received(svc: ServiceHandle[Router], *handlers: str) -> dict[str, list[str]]:
    return {handler: sorted(call.data for call in svc.calls(handler)) for handler in handlers}


async def test_filter_policy_operators_prefix_anything_but_numeric_range_exists_or_and_string_arrays(
    tomodachi_service: ServiceFactory, fake_sns_sqs: FakeSnsSqs
) -> None:
    svc = await route(
        tomodachi_service,
        fake_sns_sqs,
        [
            ("m1", {"region": "eu-west-1", "team": "ops", "severity": 3}),
            ("m2", {"region": "us-east-1", "team": "test", "severity": 5, "muted": True}),
            ("m3", {"region": "eu-central-1", "team": "qa", "severity": 2, "tags": ["urgent", "db"]}),
            ("m4", {"team": "db", "severity": 4.5, "tags": ["later"]}),
            ("m5", {"severity": 4}),
        ],
    )
    assert received(svc, "eu", "not_test", "mid", "unmuted", "either", "tagged") == {
        "eu": ["m1", "m3"],  # prefix
        "not_test": ["m1", "m4"],  # anything-but; an absent attribute (m5) is not "anything but"
        "mid": ["m1", "m5"],  # 2 < severity <= 4
        "unmuted": ["m1", "m3", "m4", "m5"],  # exists: false
        "either": ["m1", "m2"],  # $or across keys
        "tagged": ["m3"],  # a String.Array matches when one of its elements does
    }


@pytest.mark.wire_difference(
    "real",
    reason="moto delivers a message with no attributes at all to a {'exists': false} subscription (['bare', "
    "'marked']); SNS (and the in-memory SNS) match exists: false only when the message has some attribute",
)
async def test_exists_false_does_not_match_a_message_without_any_attributes(
    tomodachi_service: ServiceFactory, fake_sns_sqs: FakeSnsSqs
) -> None:
    svc = await route(tomodachi_service, fake_sns_sqs, [("bare", {}), ("marked", {"team": "db"})])
    assert received(svc, "unmuted") == {"unmuted": ["marked"]}


@pytest.mark.wire_difference(
    "real",
    reason="moto lower-cases the attribute but not the policy's operand: {'equals-ignore-case': 'OPS'} matches "
    "nothing ([]); SNS (and the in-memory SNS) match 'ops' and 'Ops'",
)
async def test_equals_ignore_case_matches_whatever_the_case_of_the_policy_operand(
    tomodachi_service: ServiceFactory, fake_sns_sqs: FakeSnsSqs
) -> None:
    svc = await route(tomodachi_service, fake_sns_sqs, [("lower", {"team": "ops"}), ("mixed", {"team": "Ops"})])
    assert received(svc, "ops") == {"ops": ["lower", "mixed"]}


# ---- attributes, ids, delays, missing queues --------------------------------------------------------------


class Reader(tomodachi.Service):
    name = "semantics-reader"

    @tomodachi.aws_sns_sqs("semantics-raw", queue_name="semantics-raw", message_envelope=None)
    async def read(
        self, data: str, message_attributes: dict[str, Any], sns_message_id: str, sqs_message_id: str
    ) -> None:
        pass

    @tomodachi.aws_sns_sqs(queue_name="semantics-inbox", message_envelope=None)
    async def inbox(
        self, data: str, message_attributes: dict[str, Any], sns_message_id: str, sqs_message_id: str
    ) -> None:
        pass


async def test_binary_number_and_unicode_attributes_reach_the_handler_unchanged(
    tomodachi_service: ServiceFactory, fake_sns_sqs: FakeSnsSqs
) -> None:
    svc = await tomodachi_service(Reader)
    attributes = {"blob": b"\x00\xff", "ratio": 0.1, "big": 12345678901234567890, "text": "é ✓"}
    await fake_sns_sqs.publish("semantics-raw", "published", envelope=None, attributes=attributes)
    await fake_sns_sqs.send("semantics-inbox", "sent", envelope=None, attributes=attributes)
    [published] = await svc.wait_for_call("read", timeout=REAL_WAIT)
    [sent] = await svc.wait_for_call("inbox", timeout=REAL_WAIT)

    assert dict(published.arguments["message_attributes"]) == attributes  # via the SNS notification
    assert dict(sent.arguments["message_attributes"]) == attributes  # as SQS message attributes


async def test_an_empty_attribute_value_is_refused(tomodachi_service: ServiceFactory, fake_sns_sqs: FakeSnsSqs) -> None:
    await tomodachi_service(Reader)
    refused = await refusal(fake_sns_sqs.publish("semantics-raw", "x", envelope=None, attributes={"note": ""}))
    assert refused is not None, "SNS refuses an attribute without a value"


async def test_an_attribute_name_sqs_does_not_allow_is_refused(
    tomodachi_service: ServiceFactory, fake_sns_sqs: FakeSnsSqs
) -> None:
    await tomodachi_service(Reader)
    refused = await refusal(fake_sns_sqs.send("semantics-inbox", "x", envelope=None, attributes={"my note": "a"}))
    assert refused is not None, "SQS refuses a space in an attribute name"


async def test_sns_delivers_a_message_of_256_kib_and_refuses_one_byte_more(
    tomodachi_service: ServiceFactory, fake_sns_sqs: FakeSnsSqs
) -> None:
    svc = await tomodachi_service(Reader)
    await fake_sns_sqs.publish("semantics-raw", "x" * SNS_LIMIT, envelope=None)
    [call] = await svc.wait_for_call("read", timeout=REAL_WAIT)
    assert len(call.data) == SNS_LIMIT  # the same on both wires
    refused = await refusal(fake_sns_sqs.publish("semantics-raw", "x" * (SNS_LIMIT + 1), envelope=None))
    assert refused is not None, "SNS refuses a message over 256 KiB"


async def test_sqs_refuses_a_message_over_1_mib(tomodachi_service: ServiceFactory, fake_sns_sqs: FakeSnsSqs) -> None:
    await tomodachi_service(Reader)
    refused = await refusal(fake_sns_sqs.send("semantics-inbox", "x" * (SQS_LIMIT + 1), envelope=None))
    assert refused is not None, "SQS refuses a message over 1 MiB"


async def test_the_handler_gets_the_sns_message_id_the_publish_returned_and_the_sqs_message_id_of_a_send(
    tomodachi_service: ServiceFactory, fake_sns_sqs: FakeSnsSqs
) -> None:
    svc = await tomodachi_service(Reader)
    published = await fake_sns_sqs.publish("semantics-raw", "published", envelope=None)
    sent = await fake_sns_sqs.send("semantics-inbox", "sent", envelope=None)
    [notification] = await svc.wait_for_call("read", timeout=REAL_WAIT)
    [message] = await svc.wait_for_call("inbox", timeout=REAL_WAIT)

    assert notification.arguments["sns_message_id"] == published.message_id
    sqs_message_id = notification.arguments["sqs_message_id"]
    assert re.fullmatch(UUID, sqs_message_id) and sqs_message_id != published.message_id  # a message of its own
    assert (message.arguments["sqs_message_id"], message.arguments["sns_message_id"]) == (sent.message_id, "")


async def test_a_delayed_send_is_received_after_its_delay_and_behind_a_later_send(
    tomodachi_service: ServiceFactory, fake_sns_sqs: FakeSnsSqs, let_time_pass: LetTimePass
) -> None:
    svc = await tomodachi_service(Reader)
    late = await fake_sns_sqs.send("semantics-inbox", "late", envelope=None, delay_seconds=1)
    await fake_sns_sqs.send("semantics-inbox", "early", envelope=None)
    await svc.wait_for_call("inbox", timeout=REAL_WAIT)
    await let_time_pass(1)
    first, second = await svc.wait_for_call("inbox", count=2, timeout=REAL_WAIT)

    assert (first.data, second.data) == ("early", "late")
    assert second.time - late.time >= timedelta(seconds=1)  # DelaySeconds held it


async def test_a_send_to_a_queue_that_does_not_exist_raises_queue_does_not_exist(fake_sns_sqs: FakeSnsSqs) -> None:
    formatted = await refusal(fake_sns_sqs.send("semantics-nowhere", "x"))
    raw = await refusal(fake_sns_sqs.send("semantics-nowhere", "x", envelope=None))
    assert isinstance(formatted, QueueDoesNotExistError), repr(formatted)
    assert isinstance(raw, QueueDoesNotExistError), repr(raw)
