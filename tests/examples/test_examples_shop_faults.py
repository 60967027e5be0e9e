"""examples/shop/ under fault plans: the property test of examples/shop/test_shop_under_faults.py (imported, so CI
runs it), the outcomes its flow reports for fixed plans, and what a failure under a plan looks like — the seed, the
plan and the delivery trace attached to the exception — on a deliberately non-idempotent service."""

from __future__ import annotations

import json

import pytest

import tomodachi
import tomodachi.testing
from examples.shop.digest import Digest
from examples.shop.test_shop_under_faults import (
    DECLINED,
    DIGEST_QUEUE,
    PLACED_QUEUE,
    Outcome,
    run_the_shop_under,
)
from examples.shop.test_shop_under_faults import (
    test_the_shop_pays_each_order_once_under_faults as test_the_shop_pays_each_order_once_under_faults,
)
from tomodachi.testing import Fault, FaultPlan

# ---- the flow of the property test, under fixed plans: each kind of outcome really occurs ---------------------


async def test_without_faults_good_cards_are_paid_and_declined_ones_dead_lettered() -> None:
    outcome = await run_the_shop_under(FaultPlan(), [(1250, "4242"), (999, DECLINED), (5, "4242")])
    assert outcome == Outcome(frozenset({"o-0", "o-2"}), frozenset({"o-1"}), frozenset(), dead_letters=1)


async def test_duplicates_on_every_queue_charge_and_count_each_order_once() -> None:
    plan = FaultPlan((Fault("duplicate", probability=1.0, copies=3),), seed=1)
    outcome = await run_the_shop_under(plan, [(100, "4242"), (200, "4242"), (300, DECLINED)])
    # the declined order.placed arrives three times: each copy is dead-lettered after its three attempts
    assert outcome == Outcome(frozenset({"o-0", "o-1"}), frozenset({"o-2"}), frozenset(), dead_letters=3)


async def test_an_order_whose_every_attempt_fails_is_dead_lettered_uncharged() -> None:
    plan = FaultPlan((Fault("fail", queue=PLACED_QUEUE),), seed=2)
    outcome = await run_the_shop_under(plan, [(100, "4242"), (200, DECLINED)])
    assert outcome == Outcome(frozenset(), frozenset({"o-0", "o-1"}), frozenset(), dead_letters=2)


async def test_a_confirmation_the_digest_never_takes_leaves_the_order_paid_but_uncounted() -> None:
    plan = FaultPlan((Fault("fail", queue=DIGEST_QUEUE, at=(1, 2, 3)),), seed=3)
    outcome = await run_the_shop_under(plan, [(100, "4242")])
    assert outcome == Outcome(frozenset(), frozenset(), frozenset({"o-0"}), dead_letters=1)


# ---- failure and replay ---------------------------------------------------------------------------------------

AMOUNTS = [1250, 999, 5, 300, 42]
COUNTER_QUEUE = "naive-counter-payments"
# seed 5 duplicates exactly one of the five messages (the third): found by trying seeds 0-5, and fixed from then on
DUPLICATES = FaultPlan((Fault("duplicate", probability=0.5, queue=COUNTER_QUEUE),), seed=5)


class NaiveCounter(tomodachi.Service):
    """Adds up every ``payment.completed`` it is handed, with no idempotency: a redelivered payment counts twice.

    It has no message envelope, so the body is raw JSON without a message uuid and the pipeline cannot skip a
    duplicate for it (a JsonBase service's duplicates, same uuid, are skipped)."""

    name = "naive-counter"

    def __init__(self) -> None:
        self.count = 0
        self.amount = 0

    @tomodachi.amqp("payment.completed", queue_name=COUNTER_QUEUE)
    async def payment_completed(self, data: str) -> None:
        payment = json.loads(data)
        self.count += 1
        self.amount += payment["amount"]


async def count_payments(plan: FaultPlan) -> None:
    """A user's test of the naive counter: each payment published once, so each should be counted once."""
    async with tomodachi.testing.system(NaiveCounter, plan=plan) as shop:
        for number, amount in enumerate(AMOUNTS):
            payment = {"order_id": f"o-{number}", "amount": amount}
            await shop.fake_amqp.publish("payment.completed", json.dumps(payment), envelope=None)
        await shop.run_until_idle()
        counter: NaiveCounter = shop.service("naive-counter").instance
        assert (counter.count, counter.amount) == (len(AMOUNTS), sum(AMOUNTS))


def report_of(failure: BaseException) -> str:
    notes: list[str] = getattr(failure, "__notes__", [])
    [report] = [note for note in notes if note.startswith("tomodachi fault plan:")]
    return report


async def test_a_duplicate_breaks_a_non_idempotent_handler_and_the_failure_says_how_to_replay_it() -> None:
    with pytest.raises(AssertionError) as failure:
        await count_payments(DUPLICATES)
    assert "(6, 2601) == (5, 2596)" in str(failure.value)  # the third payment (5 cents) counted twice

    header, rerun, trace_title, *trace = report_of(failure.value).splitlines()
    assert header == "tomodachi fault plan: FaultPlan(seed=5: duplicate x2 on any bus:naive-counter-payments p=0.5)"
    assert rerun == "rerun exactly with: pytest --tomodachi-seed=5 (or @pytest.mark.tomodachi_seed(5))"
    assert trace_title == "delivery trace:"
    at = "  2024-01-01T00:00:00+00:00"
    handled = [json.dumps({"order_id": f"o-{n}", "amount": AMOUNTS[n]}) for n in (0, 1, 2, 2, 3, 4)]  # o-2 twice
    assert trace == [
        f"{at} amqp {COUNTER_QUEUE}: next message delivered 2 times (duplicate x2 on any bus:{COUNTER_QUEUE} p=0.5)",
        *(f"{at} naive-counter.payment_completed({payment!r}) ok" for payment in handled),
    ]

    # the same seed and plan replay the same run, to the line; another seed duplicates other messages
    with pytest.raises(AssertionError) as replay:
        await count_payments(DUPLICATES)
    assert report_of(replay.value) == report_of(failure.value)
    with pytest.raises(AssertionError) as other_seed:
        await count_payments(DUPLICATES.with_seed(0))
    other_trace = report_of(other_seed.value).splitlines()[3:]
    assert sum("next message delivered 2 times" in line for line in other_trace) == 2
    assert other_trace != trace


async def test_the_same_duplicates_do_not_break_the_shops_digest() -> None:
    # the shop's digest reads JsonBase envelopes: a duplicate carries the same message uuid and is skipped
    digest_queue_duplicates = FaultPlan((Fault("duplicate", probability=0.5, queue=DIGEST_QUEUE),), seed=5)
    async with tomodachi.testing.system(Digest, plan=digest_queue_duplicates) as shop:
        for number, amount in enumerate(AMOUNTS):
            await shop.fake_amqp.publish("payment.completed", {"order_id": f"o-{number}", "amount": amount})
        await shop.run_until_idle()
        today = shop.service("shop-digest").instance.today
        assert (today.count, today.amount) == (len(AMOUNTS), sum(AMOUNTS))
        assert sum("next message delivered 2 times" in line for line in shop.trace()) == 4  # 4 of 5 duplicated
        assert len(shop.calls("shop-digest", "payment_completed")) == len(AMOUNTS)  # each copy after the first skipped


# ---- a framework bug, kept as a failing example ---------------------------------------------------------------


async def test_system_applies_the_sessions_seed_to_its_plan(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOMODACHI_SEED", "0")  # as `pytest --tomodachi-seed=0` would, per docs/testing.md
    with pytest.raises(AssertionError) as failure:
        await count_payments(DUPLICATES)  # the plan says seed 5; the session says 0
    assert report_of(failure.value).startswith("tomodachi fault plan: FaultPlan(seed=0:")
