"""Fault plans: seeded, declarative faults for a whole system; the same seed and plan replay the same run, and a
failure under a plan reports the seed, the plan and the delivery trace."""

from __future__ import annotations

from typing import Any

import pytest

import tomodachi
from tomodachi.envelope import JsonBase
from tomodachi.testing import Fault, FaultPlan, InjectedFailure, LostMessages, system

pytest_plugins = ["pytester"]


class Relay(tomodachi.Service):
    """SNS+SQS in, AMQP out, AMQP in: a two-hop flow for plans to disturb."""

    name = "relay"
    message_envelope = JsonBase

    def __init__(self) -> None:
        self.received: list[Any] = []

    @tomodachi.aws_sns_sqs("orders", queue_name="relay-orders")
    async def on_order(self, data: Any) -> None:
        await tomodachi.amqp_publish(self, data, routing_key="orders.relayed")

    @tomodachi.amqp("orders.relayed", queue_name="relay-relayed")
    async def on_relayed(self, data: Any) -> None:
        self.received.append(data["n"])


PLAN = FaultPlan(
    (
        Fault("fail", probability=0.3),
        Fault("duplicate", probability=0.3, bus="aws_sns_sqs"),
        Fault("reorder", bus="amqp"),
        Fault("latency", probability=0.5, seconds=2),
    ),
    seed=11,
)


async def run(plan: FaultPlan, seed: int | None = None) -> tuple[list[Any], list[str]]:
    async with system(Relay, plan=plan, seed=seed) as shop:
        for n in range(10):
            await shop.fake_sns_sqs.publish("orders", {"n": n})
        await shop.run_until_idle(limit="10 minutes")
        shop.fake_sns_sqs.take_dead_letters()
        shop.fake_amqp.take_dead_letters()
        return list(shop.service("relay").instance.received), shop.trace()


async def test_the_same_seed_and_plan_replay_the_same_deliveries_orders_and_timings() -> None:
    first, again = await run(PLAN), await run(PLAN)
    assert first == again
    assert any("fails" in line for line in first[1]) and any("shuffled" in line for line in first[1])


async def test_another_seed_gives_another_run() -> None:
    assert await run(PLAN) != await run(PLAN, seed=12)


async def test_a_fault_at_a_step_hits_exactly_that_message() -> None:
    plan = FaultPlan((Fault("fail", at=(2,), queue="relay-relayed"),))
    async with system(Relay, plan=plan) as shop:
        for n in range(3):
            await shop.fake_sns_sqs.publish("orders", {"n": n})
            await shop.settle()
        calls = shop.service("relay").calls("on_relayed")
        assert [(c.data["n"], type(c.exception)) for c in calls] == [
            (0, type(None)),
            (1, InjectedFailure),
            (2, type(None)),
        ]
        await shop.run_until_idle(limit="1 minute")
        assert sorted(shop.service("relay").instance.received) == [0, 1, 2]


async def test_a_failure_under_a_plan_carries_the_seed_the_plan_and_the_trace() -> None:
    plan = FaultPlan((Fault("fail", queue="relay-relayed"),), seed=5)
    with pytest.raises(LostMessages) as failure:
        async with system(Relay, plan=plan) as shop:
            await shop.fake_sns_sqs.publish("orders", {"n": 1})
            await shop.run_until_idle(limit="1 minute")
    notes = "\n".join(getattr(failure.value, "__notes__", []))
    assert "FaultPlan(seed=5: fail on any bus:relay-relayed p=1)" in notes
    assert "--tomodachi-seed=5" in notes
    assert "relay.on_relayed({'n': 1}) raised InjectedFailure" in notes
    assert "dead-lettered to relay-relayed.dlq after 3 receive(s)" in notes


def test_fault_definitions_are_checked() -> None:
    with pytest.raises(ValueError, match="kind"):
        Fault("explode")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="probability"):
        Fault("fail", probability=2)
    with pytest.raises(ValueError, match="bus"):
        Fault("fail", bus="kafka")
    with pytest.raises(ValueError, match="at counts"):
        Fault("fail", at=(0,))


FAILING_TEST = """
from typing import Any

import pytest

import tomodachi
from tomodachi.envelope import JsonBase
from tomodachi.testing import Fault, FaultPlan


class Sink(tomodachi.Service):
    name = "sink"
    message_envelope = JsonBase

    def __init__(self) -> None:
        self.seen = []

    @tomodachi.amqp("sink.key", queue_name="sink")
    async def on_message(self, data: Any) -> None:
        self.seen.append(data)


async def test_sink(tomodachi_service, tomodachi_system, fake_amqp):
    svc = await tomodachi_service(Sink)
    applied = tomodachi_system.apply(FaultPlan((Fault("duplicate", probability=0.5),), seed=3))
    print("applied seed", applied.seed)
    for n in range(6):
        await fake_amqp.publish("sink.key", n)
    await tomodachi_system.settle()
    assert svc.instance.seen == "no"
"""


@pytest.mark.parametrize(
    ("arguments", "seed"), [((), 3), (("--tomodachi-seed=9",), 9)], ids=["plan seed", "command-line seed"]
)
def test_a_failing_pytest_test_reports_its_plan_and_reruns_with_the_seed_given(
    pytester: pytest.Pytester, arguments: tuple[str, ...], seed: int
) -> None:
    pytester.makeini("[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile(test_sink=FAILING_TEST)
    result = pytester.runpytest("-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-s", *arguments)
    result.assert_outcomes(failed=1)
    output = result.stdout.str()
    assert f"applied seed {seed}" in output
    assert "tomodachi fault plan" in output and f"FaultPlan(seed={seed}: duplicate x2 on any bus:* p=0.5)" in output
    assert f"--tomodachi-seed={seed}" in output and "sink.on_message(" in output


def test_the_seed_marker_wins_over_the_command_line(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile(
        test_sink="import pytest\n"
        + FAILING_TEST.replace("async def test_sink", "@pytest.mark.tomodachi_seed(21)\nasync def test_sink")
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-s", "--tomodachi-seed=9")
    result.assert_outcomes(failed=1)
    assert "applied seed 21" in result.stdout.str()


def test_the_seed_marker_applies_to_a_system_block_too(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile(
        test_block="""
import pytest
from tomodachi.testing import Fault, FaultPlan, system


@pytest.mark.tomodachi_seed(21)
async def test_block():
    async with system(plan=FaultPlan((Fault("duplicate"),), seed=3)) as shop:
        assert shop.harness.plan is not None and shop.harness.plan.seed == 21


async def test_without_marker():
    async with system(plan=FaultPlan((Fault("duplicate"),), seed=3)) as shop:
        assert shop.harness.plan is not None and shop.harness.plan.seed == 3
"""
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "-p", "no:hypothesispytest")
    result.assert_outcomes(passed=2)
