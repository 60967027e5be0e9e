"""SNS+SQS conformance: the same scenarios on the in-memory SNS+SQS and on moto (``--tomodachi-wire=real``).

Delete on success, visibility timeout and receive count, dead-lettering after ``max_receive_count`` (by the
pipeline, and by SQS's own redrive), FIFO order per group and de-duplication, and filter policies. Where the
wires differ, the scenario is a strict xfail on one wire and listed in docs/conformance.md.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

import tomodachi
from tests.conformance.kit import REAL_WAIT, LetTimePass
from tomodachi.envelope import JsonBase
from tomodachi.messaging.pipeline import ErrorPolicy
from tomodachi.messaging.sns_sqs.exceptions import AWSSNSSQSInternalServiceError
from tomodachi.testing import FakeSnsSqs, HandlerCall, ServiceFactory

# a failed message becomes visible again 1 s later (SQS visibility timeouts are whole seconds), or at once
ONE_SECOND_RETRY = ErrorPolicy(initial_delay=1.0, multiplier=1.0, max_delay=1.0)
RETRY_AT_ONCE = ErrorPolicy(initial_delay=0.0, multiplier=1.0, max_delay=0.0)


# ---- delete on success, visibility timeout and receive count -----------------------------------------------


class Deleter(tomodachi.Service):
    name = "conformance-deleter"
    message_envelope = JsonBase
    # a failed message is made invisible for 2 s, twice the queue's visibility timeout
    message_error_policy = ErrorPolicy(initial_delay=2.0, multiplier=1.0, max_delay=2.0)

    # a received message that is neither deleted nor retried is visible again 1 s after its receive
    @tomodachi.aws_sns_sqs("conformance-deleted", queue_name="conformance-deleted", visibility_timeout=1)
    async def handle(self, data: dict[str, Any], approximate_receive_count: int, sqs_message_id: str) -> None:
        if data["kind"] == "failing" and approximate_receive_count == 1:
            raise RuntimeError("fails its first receive")


async def test_a_handled_message_is_deleted_and_a_failed_one_is_received_again_with_receive_count_2(
    tomodachi_service: ServiceFactory, fake_sns_sqs: FakeSnsSqs, let_time_pass: LetTimePass
) -> None:
    svc = await tomodachi_service(Deleter)
    assert fake_sns_sqs.queue_attributes("conformance-deleted")["VisibilityTimeout"] == "1"
    await fake_sns_sqs.publish("conformance-deleted", {"kind": "handled"})
    await fake_sns_sqs.publish("conformance-deleted", {"kind": "failing"})
    await fake_sns_sqs.settle()
    await svc.wait_for_call("handle", count=2, timeout=REAL_WAIT)
    await let_time_pass(2)  # the failed message's retry: by then an undeleted handled message was visible again
    await svc.wait_for_call("handle", count=3, timeout=REAL_WAIT)
    await fake_sns_sqs.settle()

    calls = svc.calls("handle")
    handled = [call for call in calls if call.data["kind"] == "handled"]
    failing = [call for call in calls if call.data["kind"] == "failing"]
    assert [(call.arguments["approximate_receive_count"], call.exception) for call in handled] == [(1, None)]
    assert [call.arguments["approximate_receive_count"] for call in failing] == [1, 2]
    first, second = failing
    assert (first.exception is not None, second.exception) == (True, None)
    assert second.arguments["sqs_message_id"] == first.arguments["sqs_message_id"]  # the same SQS message
    assert second.time - first.time >= timedelta(seconds=2)  # invisible for as long as the retry asked
    assert [str(exc) for exc in svc.take_errors()] == ["fails its first receive"]
    assert fake_sns_sqs.dead_letters() == []


# ---- dead letters -----------------------------------------------------------------------------------------


class Payments(tomodachi.Service):
    name = "conformance-payments"
    message_envelope = JsonBase
    message_error_policy = RETRY_AT_ONCE

    @tomodachi.aws_sns_sqs(
        "conformance-payment",
        queue_name="conformance-payments",
        dead_letter_queue_name="conformance-payments-dlq",
        max_receive_count=2,
    )
    async def capture(self, data: dict[str, Any], approximate_receive_count: int) -> None:
        raise RuntimeError(f"card declined for {data['payment']} (receive {approximate_receive_count})")

    @tomodachi.aws_sns_sqs(queue_name="conformance-payments-dlq")
    async def park(self, data: dict[str, Any]) -> None:
        pass


async def test_a_message_that_keeps_failing_is_dead_lettered_after_max_receive_count(
    tomodachi_service: ServiceFactory, fake_sns_sqs: FakeSnsSqs
) -> None:
    svc = await tomodachi_service(Payments)
    redrive = json.loads(fake_sns_sqs.queue_attributes("conformance-payments")["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"].endswith(":conformance-payments-dlq")
    await fake_sns_sqs.publish("conformance-payment", {"payment": "p-1"})
    await fake_sns_sqs.settle()
    [parked] = await svc.wait_for_call("park", timeout=REAL_WAIT)

    assert parked.data == {"payment": "p-1"}  # the dead-letter queue holds the message itself
    assert [str(exc) for exc in svc.take_errors()] == [f"card declined for p-1 (receive {n})" for n in (1, 2)]
    assert len(svc.calls("capture")) == 2
    [dead] = fake_sns_sqs.take_dead_letters("conformance-payments")
    assert (dead.data, dead.receive_count, dead.kept) == ({"payment": "p-1"}, 2, True)
    assert dead.reason == "handler capture failed 2 time(s): RuntimeError: card declined for p-1 (receive 2)"
    assert (dead.handler, dead.dead_letter_queue) == ("conformance-payments.capture", "conformance-payments-dlq")


class UpstreamPayments(tomodachi.Service):
    """Upstream's error policy: the pipeline never gives up on an internal-service error (it makes the message
    visible again), so SQS's own redrive moves it once ``maxReceiveCount`` receives are used up."""

    name = "conformance-upstream-payments"
    message_envelope = JsonBase
    message_error_policy = ErrorPolicy(mode="upstream", initial_delay=0.0, multiplier=1.0, max_delay=0.0)

    @tomodachi.aws_sns_sqs(
        "conformance-upstream-payment",
        queue_name="conformance-upstream-payments",
        dead_letter_queue_name="conformance-upstream-payments-dlq",
        max_receive_count=2,
    )
    async def capture(self, data: dict[str, Any], approximate_receive_count: int) -> None:
        raise AWSSNSSQSInternalServiceError(f"payment service down (receive {approximate_receive_count})")

    @tomodachi.aws_sns_sqs(queue_name="conformance-upstream-payments-dlq")
    async def park(self, data: dict[str, Any]) -> None:
        pass


async def redriven_by_sqs(tomodachi_service: ServiceFactory, fake_sns_sqs: FakeSnsSqs) -> None:
    """A payment fails twice with an internal error; the third receive finds the receive count used up, and SQS
    moves it to the dead-letter queue instead of delivering it."""
    svc = await tomodachi_service(UpstreamPayments)
    svc.expect_errors(AWSSNSSQSInternalServiceError)
    await fake_sns_sqs.publish("conformance-upstream-payment", {"payment": "p-2"})
    await fake_sns_sqs.settle()
    [parked] = await svc.wait_for_call("park", timeout=REAL_WAIT)
    assert parked.data == {"payment": "p-2"}
    assert [call.arguments["approximate_receive_count"] for call in svc.calls("capture")] == [1, 2]  # no third
    assert [str(exc) for exc in svc.take_errors()] == [f"payment service down (receive {n})" for n in (1, 2)]


async def test_sqs_redrive_moves_a_message_the_pipeline_keeps_retrying_to_the_dead_letter_queue(
    tomodachi_service: ServiceFactory, fake_sns_sqs: FakeSnsSqs
) -> None:
    fake_sns_sqs.expect_dead_letters("conformance-upstream-payments")
    await redriven_by_sqs(tomodachi_service, fake_sns_sqs)


@pytest.mark.wire_difference(
    "real",
    reason="SQS's redrive happens inside SQS (moto here, or AWS): no handler gave up and nothing tells the test",
)
async def test_sqs_redrive_is_reported_as_a_dead_letter(
    tomodachi_service: ServiceFactory, fake_sns_sqs: FakeSnsSqs
) -> None:
    await redriven_by_sqs(tomodachi_service, fake_sns_sqs)
    dead_letters = fake_sns_sqs.take_dead_letters("conformance-upstream-payments")
    assert len(dead_letters) == 1
    [dead] = dead_letters
    assert (dead.data, dead.handler, dead.dead_letter_queue) == (
        {"payment": "p-2"},
        None,  # moved by the broker, not given up on by a handler
        "conformance-upstream-payments-dlq",
    )


# ---- FIFO -------------------------------------------------------------------------------------------------


class Ledger(tomodachi.Service):
    name = "conformance-ledger"
    message_envelope = JsonBase
    message_error_policy = ONE_SECOND_RETRY

    @tomodachi.aws_sns_sqs("conformance-ledger", fifo=True, queue_name="conformance-ledger.fifo")
    async def apply(self, data: dict[str, Any], message_group_id: str, approximate_receive_count: int) -> None:
        if data["entry"] == "a1" and approximate_receive_count == 1:
            raise RuntimeError("a1 fails its first receive")


async def record(fake_sns_sqs: FakeSnsSqs, entry: str, deduplication_id: str) -> None:
    """Publish a ledger entry to the FIFO topic; its group is the entry's first letter."""
    await fake_sns_sqs.publish(
        "conformance-ledger", {"entry": entry}, group_id=entry[0], deduplication_id=deduplication_id
    )


def entries_by_group(calls: list[HandlerCall]) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for call in calls:
        groups.setdefault(call.arguments["message_group_id"], []).append(call.data["entry"])
    return groups


async def test_fifo_keeps_each_group_in_order_across_a_retry_and_drops_a_repeated_deduplication_id(
    tomodachi_service: ServiceFactory, fake_sns_sqs: FakeSnsSqs, let_time_pass: LetTimePass
) -> None:
    svc = await tomodachi_service(Ledger)
    await record(fake_sns_sqs, "a1", "a1")  # fails its first receive: group a waits 1 s for its retry
    await record(fake_sns_sqs, "b1", "b1")  # another group: not held back
    await record(fake_sns_sqs, "a2", "a2")  # queued behind a1
    await record(fake_sns_sqs, "a2 again", "a2")  # a retried publish while the first copy is queued: dropped
    await fake_sns_sqs.settle()
    await svc.wait_for_call("apply", count=2, timeout=REAL_WAIT)  # a1 (failed), b1
    await let_time_pass(1)
    await svc.wait_for_call("apply", count=3, timeout=REAL_WAIT)  # a1 again
    # a group published later flows too (it also ends moto's stalled long poll: see docs/conformance.md)
    await record(fake_sns_sqs, "c1", "c1")
    await fake_sns_sqs.settle()
    await svc.wait_for_call("apply", count=5, timeout=REAL_WAIT)

    assert entries_by_group(svc.calls("apply")) == {"a": ["a1", "a1", "a2"], "b": ["b1"], "c": ["c1"]}
    assert [str(exc) for exc in svc.take_errors()] == ["a1 fails its first receive"]


@pytest.mark.wire_difference(
    "real",
    reason="moto compares a deduplication id only with the messages still on the queue: once the first copy "
    "was handled and deleted, a repeat is delivered (SQS remembers the id for 5 minutes)",
)
async def test_fifo_drops_a_deduplication_id_repeated_within_5_minutes_after_the_first_copy_was_handled(
    tomodachi_service: ServiceFactory, fake_sns_sqs: FakeSnsSqs
) -> None:
    svc = await tomodachi_service(Ledger)
    await record(fake_sns_sqs, "c1", "c1")
    await fake_sns_sqs.settle()
    await svc.wait_for_call("apply", timeout=REAL_WAIT)  # handled and deleted
    await record(fake_sns_sqs, "c1 again", "c1")  # a retried publish, seconds later
    await record(fake_sns_sqs, "d1", "d1")  # another group (it also ends moto's stalled long poll)
    await fake_sns_sqs.settle()
    await svc.wait_for_call("apply", count=2, timeout=REAL_WAIT)

    assert entries_by_group(svc.calls("apply")) == {"c": ["c1"], "d": ["d1"]}


# ---- filter policies --------------------------------------------------------------------------------------


class Alerts(tomodachi.Service):
    name = "conformance-alerts"
    message_envelope = JsonBase

    # AND across attributes, OR within a list
    @tomodachi.aws_sns_sqs(
        "conformance-alert",
        queue_name="conformance-pager",
        filter_policy={"team": ["ops", "db"], "severity": [{"numeric": [">=", 4]}]},
    )
    async def page(self, data: str, message_attributes: dict[str, Any]) -> None:
        pass

    @tomodachi.aws_sns_sqs("conformance-alert", queue_name="conformance-audit")  # no policy: every alert
    async def audit(self, data: str) -> None:
        pass


async def test_a_filter_policy_delivers_matching_messages_only(
    tomodachi_service: ServiceFactory, fake_sns_sqs: FakeSnsSqs
) -> None:
    svc = await tomodachi_service(Alerts)
    alerts: list[tuple[str, dict[str, Any]]] = [
        ("disk full", {"team": "ops", "severity": 5}),  # matches
        ("slow query", {"team": "db", "severity": 3}),  # severity too low
        ("fire drill", {"team": "test", "severity": 5}),  # team not listed
        ("no team", {"severity": 5}),  # attribute missing
        ("db down", {"team": "db", "severity": 4}),  # matches
    ]
    for text, attributes in alerts:
        await fake_sns_sqs.publish("conformance-alert", text, attributes=attributes)
    await fake_sns_sqs.settle()
    await svc.wait_for_call("audit", count=len(alerts), timeout=REAL_WAIT)  # all published and deliverable
    await svc.wait_for_call("page", count=2, timeout=REAL_WAIT)

    assert sorted(call.data for call in svc.calls("audit")) == sorted(text for text, _ in alerts)
    paged = sorted((call.data, dict(call.arguments["message_attributes"])) for call in svc.calls("page"))
    assert paged == [("db down", {"team": "db", "severity": 4}), ("disk full", {"team": "ops", "severity": 5})]


@pytest.mark.wire_difference("real", reason="SNS does not say which queues a publish reached: delivered_to is ()")
async def test_a_publish_says_which_queues_it_reached(
    tomodachi_service: ServiceFactory, fake_sns_sqs: FakeSnsSqs
) -> None:
    await tomodachi_service(Alerts)
    paged = await fake_sns_sqs.publish("conformance-alert", "disk full", attributes={"team": "ops", "severity": 5})
    filtered = await fake_sns_sqs.publish("conformance-alert", "fire drill", attributes={"team": "test"})
    assert sorted(paged.delivered_to) == ["conformance-audit", "conformance-pager"]
    assert filtered.delivered_to == ("conformance-audit",)
