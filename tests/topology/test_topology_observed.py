"""Observed flows: who published what, who consumed it, what was dead-lettered; the loose ends called out.

Recorded from the known system of tests/topology/system on the in-memory buses and the virtual clock, in-process
(a FlowRecorder on the harness) and through ``pytest --tomodachi-topology=FILE`` in an inner pytest run."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.topology.mermaid_reader import read_flowchart
from tests.topology.system.inventory import Inventory
from tests.topology.system.shipping import Shipping
from tomodachi.testing import ServiceFactory, TestSystem
from tomodachi.testing.harness import ServiceHarness
from tomodachi.topology.command import render
from tomodachi.topology.links import unconsumed, unpublished
from tomodachi.topology.model import Publication
from tomodachi.topology.observed import FlowRecorder

pytest_plugins = ["pytester"]

INNER = ("-p", "no:cacheprovider", "-o", "asyncio_mode=auto", "-o", "asyncio_default_fixture_loop_scope=function")


async def run_the_system(tomodachi_service: ServiceFactory, tomodachi_system: TestSystem) -> None:
    """Two orders (one without a sku, which fails three times and is dead-lettered) and one recount."""
    inventory = await tomodachi_service(Inventory)
    shipping = await tomodachi_service(Shipping)
    sns = tomodachi_system.fake_sns_sqs
    await sns.publish("order.placed", {"sku": "a-1"}, attributes={"country": "SE"}, topic_prefix="dev-")
    await sns.publish("order.placed", {"no": "sku"}, attributes={"country": "SE"}, topic_prefix="dev-")
    await tomodachi_system.clock.advance("5 minutes")
    await tomodachi_system.run_until_idle()
    assert inventory.instance.reserved == ["a-1"]
    assert shipping.instance.shipped == ["a-1"]
    assert len(sns.take_dead_letters("dev-inventory-orders")) == 1
    inventory.take_errors()


async def test_observed_flows_count_publishes_handler_runs_and_dead_letters(
    tomodachi_harness: ServiceHarness, tomodachi_service: ServiceFactory, tomodachi_system: TestSystem
) -> None:
    recorder = FlowRecorder()
    tomodachi_harness.record_flows(recorder)
    await run_the_system(tomodachi_service, tomodachi_system)

    topology = recorder.topology()
    flows = topology.flows
    assert flows is not None
    assert [s.name for s in topology.services] == ["inventory", "shipping"]
    assert flows.published[Publication("tomodachi-test", "aws_sns_sqs", "sns", "dev-order.placed")] == 2
    assert flows.published[Publication("inventory", "amqp", "amqp", "dev.stock.reserved")] == 1
    assert flows.published[Publication("inventory", "amqp", "amqp", "dev.inventory.recounted")] == 1
    assert flows.consumed[("inventory", "reserve")] == 4  # one good order, three attempts at the bad one
    assert flows.failed[("inventory", "reserve")] == 3
    assert flows.dead_lettered[("inventory", "reserve")] == 1
    assert flows.consumed[("shipping", "reserved")] == 1
    assert flows.consumed[("inventory", "stock_changed")] == 1  # stock.# takes stock.reserved too
    # loose ends: a recount nobody listens to, a queue nobody sends to
    assert [p.destination for p in unconsumed(topology)] == ["dev.inventory.recounted"]
    assert [(f.service, f.subscription.handler) for f in unpublished(topology)] == [("shipping", "job")]


async def test_observed_mermaid_carries_counts_and_calls_out_loose_ends(
    tomodachi_harness: ServiceHarness, tomodachi_service: ServiceFactory, tomodachi_system: TestSystem
) -> None:
    recorder = FlowRecorder()
    tomodachi_harness.record_flows(recorder)
    await run_the_system(tomodachi_service, tomodachi_system)

    chart = read_flowchart(render(recorder.topology(), "mermaid"))
    edges = set(chart.edges)
    assert ("tomodachi-test", "==>", "2 published", "SNS dev-order.placed") in edges
    assert ("inventory", "==>", "1 published", "AMQP dev.stock.reserved") in edges
    assert ("inventory", "==>", "1 × dev.stock.reserved", "AMQP dev.stock.#") in edges  # reached by a pattern
    assert ("dev-inventory-orders", "-->", "reserve: 4 runs, 3 failed", "inventory") in edges
    assert ("dev-inventory-orders", "-.->", "1 dead-lettered", "dev-inventory-orders-dlq") in edges
    assert ("inventory", "==>", "1 published", "AMQP dev.inventory.recounted\nnobody consumes") in edges
    assert chart.classes["unconsumed"] == {"AMQP dev.inventory.recounted\nnobody consumes"}
    assert chart.classes["unpublished"] == {"shipping-jobs"}

    text = render(recorder.topology(), "text")
    assert "  ! nobody consumes amqp dev.inventory.recounted (inventory)" in text
    assert "  ! nobody published to queue shipping-jobs (shipping.job)" in text


INNER_TEST = """
from tests.topology.system.inventory import Inventory
from tests.topology.system.shipping import Shipping


async def test_orders(tomodachi_service, tomodachi_system):
    await tomodachi_service(Inventory)
    await tomodachi_service(Shipping)
    sns = tomodachi_system.fake_sns_sqs
    await sns.publish("order.placed", {"sku": "a-1"}, attributes={"country": "SE"}, topic_prefix="dev-")
    await tomodachi_system.settle()


async def test_jobs(tomodachi_service, tomodachi_system):
    await tomodachi_service(Shipping)
    await tomodachi_system.fake_sns_sqs.send("shipping-jobs", {"job": 1})
    await tomodachi_system.settle()
"""


@pytest.mark.parametrize("name", ["flows.md", "flows.mmd"])
def test_pytest_option_writes_the_flows_of_the_whole_session(pytester: pytest.Pytester, name: str) -> None:
    root = Path(__file__).resolve().parents[2]
    pytester.syspathinsert(root)
    pytester.makepyfile(test_inner_topology=INNER_TEST)
    target = pytester.path / name
    result = pytester.runpytest(*INNER, f"--tomodachi-topology={target}")
    result.assert_outcomes(passed=2)
    chart = read_flowchart(target.read_text())
    edges = set(chart.edges)
    # both tests' flows in one diagram: the order of the first, the job of the second
    assert ("tomodachi-test", "==>", "1 published", "SNS dev-order.placed") in edges
    assert ("shipping-reserved", "-->", "reserved: 1 run", "shipping") in edges
    assert ("tomodachi-test", "==>", "1 published", "shipping-jobs") in edges
    assert ("shipping-jobs", "-->", "job: 1 run", "shipping") in edges
    assert "unpublished" not in chart.classes  # every subscription got a message in one test or the other


def test_pytest_without_the_option_writes_no_topology(pytester: pytest.Pytester) -> None:
    root = Path(__file__).resolve().parents[2]
    pytester.syspathinsert(root)
    pytester.makepyfile(test_inner_topology=INNER_TEST)
    result = pytester.runpytest(*INNER)
    result.assert_outcomes(passed=2)
    assert not list(pytester.path.glob("*.md"))
