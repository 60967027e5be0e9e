"""examples/shop/: orders (HTTP, SNS+SQS), payments (SNS+SQS -> AMQP) and digest (AMQP, hourly) as one system,
on the in-memory buses and the virtual clock, through the public tomodachi.testing API only."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import tomodachi.testing
from examples.shop.digest import Digest
from examples.shop.orders import Orders
from examples.shop.payments import PaymentDeclined, Payments
from tomodachi.testing import (
    DEFAULT_START,
    FakeAmqp,
    FakeSnsSqs,
    ServiceFactory,
    ServiceHandle,
    TestSystem,
    VirtualClock,
)

ROOT = Path(__file__).resolve().parents[2]
SHOP_FILES = sorted((ROOT / "examples" / "shop").glob("*.py"))

Shop = tuple[ServiceHandle[Orders], ServiceHandle[Payments], ServiceHandle[Digest]]


async def start_shop(tomodachi_service: ServiceFactory) -> Shop:
    return await tomodachi_service(Orders), await tomodachi_service(Payments), await tomodachi_service(Digest)


async def place_order(orders: ServiceHandle[Orders], order_id: str, amount: int, card: str = "4242") -> None:
    async with orders.http.post("/orders", json={"order_id": order_id, "amount": amount, "card": card}) as response:
        assert response.status == 202, await response.text()
        assert await response.json() == {"order_id": order_id, "status": "placed"}


async def order_status(orders: ServiceHandle[Orders], order_id: str) -> Any:
    async with orders.http.get(f"/orders/{order_id}") as response:
        assert response.status == 200, await response.text()
        return await response.json()


async def test_an_order_placed_over_http_is_paid_and_counted_today(
    tomodachi_service: ServiceFactory, fake_sns_sqs: FakeSnsSqs, fake_amqp: FakeAmqp, tomodachi_wire: str
) -> None:
    orders, payments, digest = await start_shop(tomodachi_service)

    await place_order(orders, "o-1", 1250)
    [charge] = await payments.wait_for_call("charge")
    [counted] = await digest.wait_for_call("payment_completed")
    await orders.wait_for_call("payment_completed")

    [placed] = fake_sns_sqs.published("order.placed")
    assert placed.data == {"order_id": "o-1", "amount": 1250, "card": "4242"}
    in_memory = tomodachi_wire == "fake"  # real brokers do not say which queues a message reached
    assert placed.delivered_to == (("shop-payments-orders",) if in_memory else ())
    assert charge.data == placed.data and charge.exception is None

    [completed] = fake_amqp.published("payment.completed")
    assert completed.data == {"order_id": "o-1", "amount": 1250}  # the card stays with payments
    assert sorted(completed.delivered_to) == (["shop-digest-payments", "shop-orders-payments"] if in_memory else [])
    assert counted.data == completed.data

    assert await order_status(orders, "o-1") == {"order_id": "o-1", "amount": 1250, "status": "paid"}
    assert payments.instance.charged == {"o-1": 1250}
    assert (digest.instance.today.count, digest.instance.today.amount) == (1, 1250)


async def test_orders_rejects_malformed_and_duplicate_orders_and_404s_unknown_ones(
    tomodachi_service: ServiceFactory, tomodachi_system: TestSystem, fake_sns_sqs: FakeSnsSqs
) -> None:
    orders, _, _ = await start_shop(tomodachi_service)
    await place_order(orders, "o-1", 1250)
    await tomodachi_system.settle()

    for body in ({"order_id": "o-2", "amount": 12.5, "card": "4242"}, {"order_id": "o-2", "amount": 100}):
        async with orders.http.post("/orders", json=body) as response:
            assert response.status == 400
    async with orders.http.post("/orders", json={"order_id": "o-1", "amount": 1, "card": "4242"}) as response:
        assert (response.status, await response.text()) == (409, "order o-1 already exists")
    async with orders.http.get("/orders/o-404") as response:
        assert response.status == 404

    assert [m.data["order_id"] for m in fake_sns_sqs.published("order.placed")] == ["o-1"]
    assert await order_status(orders, "o-1") == {"order_id": "o-1", "amount": 1250, "status": "paid"}


async def test_a_declined_payment_is_retried_then_dead_lettered(
    tomodachi_service: ServiceFactory,
    tomodachi_system: TestSystem,
    fake_sns_sqs: FakeSnsSqs,
    fake_amqp: FakeAmqp,
    virtual_clock: VirtualClock,
) -> None:
    orders, payments, digest = await start_shop(tomodachi_service)

    await place_order(orders, "o-2", 999, card="declined")
    await tomodachi_system.run_until_idle(limit="1 hour")
    assert virtual_clock.now() == DEFAULT_START + timedelta(seconds=3)  # idle after the back-offs, not the limit

    [dead] = fake_sns_sqs.take_dead_letters()
    assert "card declined for order o-2 (999 cents)" in dead.reason
    assert dead.receive_count == 3
    assert dead.data == {"order_id": "o-2", "amount": 999, "card": "declined"}
    assert (dead.queue, dead.dead_letter_queue) == ("shop-payments-orders", "shop-payments-orders-dlq")
    assert [m.data for m in fake_sns_sqs.messages("shop-payments-orders-dlq")] == [dead.data]  # kept for a human

    charges = payments.calls("charge")
    assert [type(call.exception) for call in charges] == [PaymentDeclined] * 3
    # retried with back-off on the virtual clock: 1 s, then 2 s
    assert [call.time - charges[0].time for call in charges] == [timedelta(seconds=s) for s in (0, 1, 3)]
    assert [str(e) for e in payments.take_errors()] == ["card declined for order o-2 (999 cents)"] * 3

    assert fake_amqp.published("payment.completed") == [] and payments.instance.charged == {}
    assert digest.calls("payment_completed") == []
    assert (await order_status(orders, "o-2"))["status"] == "placed"


@pytest.mark.virtual_clock(start="2025-03-01T09:15:00Z")
async def test_the_hourly_digest_fires_at_the_top_of_the_hour_with_that_hours_payments(
    tomodachi_service: ServiceFactory, virtual_clock: VirtualClock, fake_amqp: FakeAmqp
) -> None:
    orders, _, digest = await start_shop(tomodachi_service)

    await place_order(orders, "o-1", 1000)  # 09:15
    await digest.wait_for_call("payment_completed")
    await virtual_clock.advance("30 minutes")
    await place_order(orders, "o-2", 250)  # 09:45
    await digest.wait_for_call("payment_completed", count=2)
    await virtual_clock.advance("14 minutes")
    assert digest.calls("hourly_digest") == []  # 09:59: not yet

    await virtual_clock.advance("1 minute")
    [fired] = digest.calls("hourly_digest")
    assert fired.time == datetime(2025, 3, 1, 10, 0, tzinfo=timezone.utc)
    nine_o_clock = {"hour": "2025-03-01T09:00:00+00:00", "count": 2, "amount": 1250}
    assert digest.instance.digests == [nine_o_clock]
    [published] = fake_amqp.published("digest.hourly")
    assert (published.data, published.time) == (nine_o_clock, fired.time)

    await place_order(orders, "o-3", 5)  # 10:00, counts for the next hour
    await digest.wait_for_call("payment_completed", count=3)
    await virtual_clock.advance("1 hour")
    assert digest.instance.digests[1:] == [{"hour": "2025-03-01T10:00:00+00:00", "count": 1, "amount": 5}]
    assert (digest.instance.today.count, digest.instance.today.amount) == (3, 1255)


@pytest.mark.virtual_clock(start="2025-03-01T23:30:00Z")
async def test_todays_totals_start_over_at_midnight(
    tomodachi_service: ServiceFactory, virtual_clock: VirtualClock
) -> None:
    orders, _, digest = await start_shop(tomodachi_service)
    await place_order(orders, "o-1", 700)
    await digest.wait_for_call("payment_completed")
    assert (digest.instance.today.count, digest.instance.today.amount) == (1, 700)

    await virtual_clock.advance("30 minutes")
    assert digest.instance.digests == [{"hour": "2025-03-01T23:00:00+00:00", "count": 1, "amount": 700}]
    assert (digest.instance.today.count, digest.instance.today.amount) == (0, 0)


# hypothesis cannot use function-scoped async fixtures: each example runs its own system on its own event loop
@settings(max_examples=5, deadline=None)
@example([(1250, "4242"), (999, "declined"), (5, "4242")])  # paid and declined together, whatever hypothesis draws
@given(
    st.lists(st.tuples(st.integers(min_value=1, max_value=100_000), st.sampled_from(["4242", "declined"])), max_size=4)
)
def test_the_digest_covers_exactly_the_paid_orders(orders_placed: list[tuple[int, str]]) -> None:
    asyncio.run(run_the_shop_for_an_hour(orders_placed))


async def run_the_shop_for_an_hour(orders_placed: list[tuple[int, str]]) -> None:
    async with tomodachi.testing.system(Orders, Payments, Digest, start="2025-03-01T09:30:00Z") as shop:
        orders: ServiceHandle[Orders] = shop.service("shop-orders")
        digest: ServiceHandle[Digest] = shop.service("shop-digest")
        for number, (amount, card) in enumerate(orders_placed):
            await place_order(orders, f"o-{number}", amount, card)
        await shop.run_until_idle(limit="10 minutes")  # retries of the declined cards included

        declined = [f"o-{n}" for n, (_, card) in enumerate(orders_placed) if card == "declined"]
        assert sorted(d.data["order_id"] for d in shop.fake_sns_sqs.take_dead_letters()) == sorted(declined)
        assert len(shop.take_errors()) == 3 * len(declined)

        await shop.clock.advance_to("2025-03-01T10:00:00Z")
        paid = [amount for amount, card in orders_placed if card != "declined"]
        assert digest.instance.digests == [
            {"hour": "2025-03-01T09:00:00+00:00", "count": len(paid), "amount": sum(paid)}
        ]
        for number, (_, card) in enumerate(orders_placed):
            expected = "placed" if card == "declined" else "paid"
            assert (await order_status(orders, f"o-{number}"))["status"] == expected


async def test_a_dead_letter_the_test_does_not_take_fails_it() -> None:
    with pytest.raises(tomodachi.testing.LostMessages, match="shop-payments-orders") as failure:
        async with tomodachi.testing.system(Orders, Payments) as shop:
            shop.expect_errors(PaymentDeclined)  # noticed, so the lost message is all that is left to report
            await place_order(shop.service("shop-orders"), "o-9", 100, card="declined")
            await shop.run_until_idle(limit="1 hour")
            # no shop.fake_sns_sqs.take_dead_letters(): leaving the block must raise
    assert "card declined for order o-9" in str(failure.value)


def test_the_shop_and_these_tests_pass_mypy_strict() -> None:
    # module names from the repository root (examples.shop.orders), as this file imports them
    command = [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--follow-imports=silent"]
    command += ["--explicit-package-bases", str(Path(__file__).resolve()), *map(str, SHOP_FILES)]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"no issues found in {len(SHOP_FILES) + 1} source files" in result.stdout
