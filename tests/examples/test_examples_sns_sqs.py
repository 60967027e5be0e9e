"""examples/sns_sqs_{filter_policy,fifo,dead_letter}.py on the in-memory SNS+SQS (virtual clock, no sleeps)."""

from __future__ import annotations

from typing import Any


async def test_filter_policies_select_per_subscriber(
    tomodachi_service: Any, fake_sns_sqs: Any, load_example: Any
) -> None:
    example = load_example("sns_sqs_filter_policy.py")
    pager = await tomodachi_service(example.Pager)
    dashboard = await tomodachi_service(example.Dashboard)
    alerts = await tomodachi_service(example.Alerts)

    await alerts.instance.raise_alert("disk 91% full", 3, "ops")
    await alerts.instance.raise_alert("primary db down", 5, "db")
    await alerts.instance.raise_alert("fire drill", 5, "test")
    await alerts.instance.raise_alert("cert expires in 2 days", 4, "web")
    await fake_sns_sqs.settle()

    assert pager.instance.pages == ["sev5: primary db down", "sev4: cert expires in 2 days"]
    assert dashboard.instance.lines == ["[ops] disk 91% full", "[db] primary db down"]
    assert {s.queue for s in fake_sns_sqs.subscriptions("example-alert___2e_raised")} == {
        "example-pager-alerts",
        "example-dashboard-alerts",
    }


async def test_fifo_keeps_order_per_group_and_drops_duplicates(
    tomodachi_service: Any, fake_sns_sqs: Any, load_example: Any, tomodachi_wire: str
) -> None:
    svc = await tomodachi_service(load_example("sns_sqs_fifo.py").Ledger)
    ledger = svc.instance
    transactions = [("t1", "alice", 100), ("t2", "bob", 50), ("t3", "alice", -70), ("t4", "bob", -50)]
    for transaction in transactions:
        await ledger.record(*transaction)
    if tomodachi_wire == "fake":
        # a retried send: same deduplication id, dropped by SNS (moto forgets the id once the first copy was
        # deleted, docs/conformance.md D5, so this step only runs on the in-memory wire)
        await ledger.record("t3", "alice", -70)
    await ledger.record("t5", "alice", -30)
    await fake_sns_sqs.settle()

    assert ledger.balances == {"alice": 0, "bob": 0}  # any reordering within a group would have overdrawn
    assert [h for h in ledger.history if h.startswith("alice")] == ["alice+100", "alice-70", "alice-30"]
    assert [h for h in ledger.history if h.startswith("bob")] == ["bob+50", "bob-50"]
    assert "transaction.fifo" in fake_sns_sqs.topics() and "example-ledger.fifo" in fake_sns_sqs.queues()


async def test_failing_message_goes_to_the_dead_letter_queue(
    tomodachi_service: Any, fake_sns_sqs: Any, virtual_clock: Any, load_example: Any
) -> None:
    svc = await tomodachi_service(load_example("sns_sqs_dead_letter.py").Payments)
    await fake_sns_sqs.publish("payment.requested", {"payment_id": "p1", "card": "expired"})
    await fake_sns_sqs.publish("payment.requested", {"payment_id": "p2", "card": "valid"})
    await fake_sns_sqs.settle()
    assert svc.instance.captured == ["p2"]  # the failing message does not hold up the next one
    assert svc.instance.parked == []

    for _ in range(5):  # retries wait on the clock: advance it, then let the handlers run
        await virtual_clock.advance(60)
        await fake_sns_sqs.settle()

    assert svc.instance.parked == [{"payment_id": "p1", "card": "expired"}]
    errors = svc.take_errors()
    assert [str(e) for e in errors] == [f"card declined for payment p1 (receive {n})" for n in (1, 2, 3)]
    assert fake_sns_sqs.messages("example-payments") == []
    [dead] = fake_sns_sqs.take_dead_letters("example-payments")
    assert (dead.data, dead.receive_count, dead.dead_letter_queue) == (
        {"payment_id": "p1", "card": "expired"},
        3,
        "example-payments-dlq",
    )
