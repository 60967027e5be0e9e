"""`tomodachi topology`'s static wiring of a known system: text, Mermaid (read back strictly) and JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.topology.mermaid_reader import read_flowchart
from tomodachi.topology.command import render, topology_command
from tomodachi.topology.static import static_topology

SYSTEM = Path(__file__).parent / "system"
FILES = [str(SYSTEM / "inventory.py"), str(SYSTEM / "shipping.py")]


def test_static_topology_lists_each_services_routes_subscriptions_and_schedules() -> None:
    topology = static_topology(FILES)
    inventory, shipping = topology.services
    assert [(r.kind, r.methods, r.path, r.handler) for r in inventory.routes] == [
        ("http", ("GET",), r"/stock/(?P<sku>\w+)", "check_stock"),
        ("websocket", ("GET",), "/live", "live"),
        ("error", (), "status 404", "not_found"),
    ]
    reserve = inventory.subscription_of("reserve")
    assert reserve is not None
    # names as on the wire: the service's topic and queue prefixes applied
    assert (reserve.bus, reserve.source, reserve.queue) == ("aws_sns_sqs", "dev-order.placed", "dev-inventory-orders")
    assert reserve.filter_policy == {"country": ["SE"]}
    assert reserve.dead_letter_queue == "dev-inventory-orders-dlq"
    stock = inventory.subscription_of("stock_changed")
    assert stock is not None
    assert (stock.bus, stock.source, stock.queue, stock.exchange) == (
        "amqp",
        "dev.stock.#",
        "inventory-stock",
        "amq.topic",
    )
    assert [(s.handler, s.when) for s in inventory.schedules] == [
        ("recount", "every 300 s"),
        ("report", "daily (Europe/Stockholm)"),
    ]
    job = shipping.subscription_of("job")
    assert job is not None and job.source is None and job.queue == "shipping-jobs"


def test_static_topology_applies_config_options_like_run_does() -> None:
    topology = static_topology(FILES, {"options": {"aws_sns_sqs": {"queue_name_prefix": "prod-"}}})
    reserve = topology.services[0].subscription_of("reserve")
    assert reserve is not None and reserve.queue == "prod-inventory-orders"


def test_text_format_gives_one_line_per_handler() -> None:
    text = render(static_topology(FILES), "text")
    lines = text.splitlines()
    assert lines[0] == f"inventory  ({FILES[0]})"
    assert "  sns+sqs   dev-order.placed → queue dev-inventory-orders" in text
    assert '(filter {"country":["SE"]}; dead letters → dev-inventory-orders-dlq) → reserve' in text
    assert "  schedule  every 300 s → recount" in lines
    assert "  sns+sqs   queue shipping-jobs → job" in lines
    assert "observed" not in text  # a static topology has no flows


def test_mermaid_format_is_a_flowchart_of_routes_topics_queues_and_services() -> None:
    chart = read_flowchart(render(static_topology(FILES), "mermaid"))
    assert {"inventory", "shipping"} <= {label for _, label in chart.nodes.values()}
    edges = set(chart.edges)
    assert ("HTTP\nGET /stock/(?P<sku>\\w+)", "-->", "check_stock", "inventory") in edges
    assert ("websocket\nGET /live", "-->", "live", "inventory") in edges
    assert ("every 300 s", "-->", "recount", "inventory") in edges
    assert ("SNS dev-order.placed", "-->", 'filter {"country":["SE"]}', "dev-inventory-orders") in edges
    assert ("dev-inventory-orders", "-->", "reserve", "inventory") in edges
    assert ("dev-inventory-orders", "-.->", "dead letters", "dev-inventory-orders-dlq") in edges
    assert ("AMQP dev.stock.#", "-->", "", "inventory-stock") in edges
    assert ("shipping-jobs", "-->", "job", "shipping") in edges
    assert not chart.classes  # nothing observed, so nothing called out


def test_json_format_holds_the_same_wiring() -> None:
    document = json.loads(render(static_topology(FILES), "json"))
    assert [service["name"] for service in document["services"]] == ["inventory", "shipping"]
    reserve = document["services"][0]["subscriptions"][0]
    assert reserve["queue"] == "dev-inventory-orders" and reserve["filter_policy"] == {"country": ["SE"]}
    assert "observed" not in document


@pytest.mark.parametrize(("name", "fenced"), [("t.md", True), ("t.mmd", False)])
def test_topology_command_writes_mermaid_to_a_file(tmp_path: Path, name: str, fenced: bool) -> None:
    target = tmp_path / name
    assert topology_command(FILES, format="mermaid", output=str(target)) == 0
    text = target.read_text()
    assert text.startswith("```mermaid\n") is fenced
    assert read_flowchart(text).nodes


def test_topology_command_reports_a_broken_file_with_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "broken.py"
    broken.write_text("import tomodachi\nclass Oops(tomodachi.Service):\n    name = 'oops'\n    def x(self:\n")
    assert topology_command([str(broken)]) == 1
    assert "broken.py" in capsys.readouterr().err
