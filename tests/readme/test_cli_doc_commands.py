"""docs/cli.md as written: every shell command on it runs and does what the page says, its diagrams are what
the commands write, and its option tables are the parser's."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.readme.cli_reference import options_table
from tests.readme.process_support import SHOP_URL, http_get, wait_until_paid
from tests.topology.mermaid_reader import read_flowchart
from tomodachi.cli_options import GLOBAL_OPTIONS, RUN_OPTIONS, TOPOLOGY_OPTIONS, CliOption

ROOT = Path(__file__).resolve().parents[2]
PAGE = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
SHOP = "examples/shop/orders.py examples/shop/payments.py examples/shop/digest.py"
PYTHON_TOMODACHI = [sys.executable, "-m", "tomodachi"]


def blocks(language: str) -> list[str]:
    return [block.strip() for block in re.findall(rf"```{language}\n(.*?)```", PAGE, flags=re.DOTALL)]


def block_after(command: str, language: str) -> str:
    """The first ``language`` block after the shell block holding ``command``."""
    after = PAGE.split(command, 1)[1]
    found = re.search(rf"```{language}\n(.*?)```", after, flags=re.DOTALL)
    assert found, f"no {language} block after {command!r}"
    return found.group(1)


def as_argv(command: str) -> list[str]:
    """A documented `tomodachi …` / `python -m pytest …` line as this interpreter's argv."""
    words = command.split()
    if words[0] == "tomodachi":
        return [*PYTHON_TOMODACHI, *words[1:]]
    if words[:3] == ["python", "-m", "pytest"]:
        return [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *words[3:]]
    raise AssertionError(f"no way to run {command!r}")


@contextmanager
def running(command: str, stop: int = signal.SIGINT) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(
        as_argv(command), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("TOMODACHI_")}, start_new_session=True,
    )  # fmt: skip
    try:
        yield process
        process.send_signal(stop)
        output, _ = process.communicate(timeout=30)
        assert process.returncode == 0, output[-3000:]
        assert "terminated service" in output
        process.output = output  # type: ignore[attr-defined]
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def place_order_and_wait_until_paid(process: subprocess.Popen[str]) -> list[str]:
    """Run the page's curl block against the running shop; returns each curl line's output."""
    curl_lines = blocks("sh")[[i for i, b in enumerate(blocks("sh")) if b.startswith("curl ")][0]].splitlines()
    assert http_get(f"{SHOP_URL}/orders/none", process, time.monotonic() + 60)[0] == 404
    outputs = [subprocess.run(["bash", "-c", curl_lines[0]], capture_output=True, text=True, timeout=30).stdout]
    wait_until_paid("o-1", process)
    outputs += [
        subprocess.run(["bash", "-c", c], capture_output=True, text=True, timeout=30).stdout for c in curl_lines[1:]
    ]
    return outputs


def run_help(command: str) -> None:
    result = subprocess.run(as_argv(command), capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.startswith("Usage: tomodachi"), result.stderr


def run_embedded_shop(command: str) -> None:
    flows = ROOT / "shop-flows.md"
    try:
        with running(command) as process:
            placed, status, brokers, topology = place_order_and_wait_until_paid(process)
            assert json.loads(placed) == {"order_id": "o-1", "status": "placed"}
            assert json.loads(status) == {"order_id": "o-1", "amount": 1250, "status": "paid"}
            state = json.loads(brokers)
            assert {q["name"] for q in state["aws_sns_sqs"]["queues"]} >= {"shop-payments-orders"}
            assert state["amqp"]["recent"][-1]["data"] == {"order_id": "o-1", "amount": 1250}
            assert ("shop-payments", "==>", "1 published", "AMQP payment.completed") in read_flowchart(topology).edges
        assert block_after("--brokers memory --inspect", "text").strip() in process.output  # type: ignore[attr-defined]
        assert ("shop-orders", "==>", "1 published", "SNS order.placed") in read_flowchart(flows.read_text()).edges
    finally:
        flows.unlink(missing_ok=True)


def run_mixed_shop(command: str) -> None:
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", 5672)) != 0:
            if os.environ.get("CI", "").lower() == "true":
                pytest.fail("RabbitMQ is not reachable on 127.0.0.1:5672")
            pytest.skip("RabbitMQ is not reachable on 127.0.0.1:5672")
    with running(command, stop=signal.SIGTERM) as process:
        assert http_get(f"{SHOP_URL}/orders/none", process, time.monotonic() + 60)[0] == 404
        curl = blocks("sh")[[i for i, b in enumerate(blocks("sh")) if b.startswith("curl ")][0]].splitlines()[0]
        subprocess.run(["bash", "-c", curl.replace("o-1", "mixed-1")], check=True, capture_output=True, timeout=30)
        wait_until_paid("mixed-1", process, timeout=15)  # through the real RabbitMQ this time
    assert "in-memory message brokers for aws_sns_sqs:" in process.output  # type: ignore[attr-defined]


def run_topology(command: str) -> None:
    result = subprocess.run(as_argv(command), cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    if "--format mermaid" in command:
        assert result.stdout == block_after(command, "mermaid")  # the page's diagram is the command's output
    else:
        assert result.stdout.startswith("shop-orders  (examples/shop/orders.py)\n")
        assert "  sns+sqs   order.placed → queue shop-payments-orders" in result.stdout


def run_pytest_topology(command: str) -> None:
    flows = ROOT / "shop-flows.md"
    try:
        result = subprocess.run(as_argv(command), cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stdout[-3000:]
        assert flows.read_text() == f"```mermaid\n{block_after(command, 'mermaid')}```\n"
    finally:
        flows.unlink(missing_ok=True)


RUNNERS: list[tuple[str, Callable[[str], None]]] = [
    (r"^tomodachi (run |topology )?--help$", run_help),
    (rf"^tomodachi run --brokers memory .* {SHOP}$", run_embedded_shop),
    (rf"^tomodachi run --brokers aws_sns_sqs=memory {SHOP}$", run_mixed_shop),
    (r"^tomodachi topology ", run_topology),
    (r"^python -m pytest --tomodachi-topology=", run_pytest_topology),
]


def commands() -> list[str]:
    """Every command on the page but the curl lines, which run_embedded_shop runs against the running shop."""
    return [line for block in blocks("sh") for line in block.splitlines() if not line.startswith("curl ")]


@pytest.mark.parametrize("command", commands(), ids=lambda command: command[:70])
def test_every_command_on_the_page_runs(command: str) -> None:
    runners = [runner for pattern, runner in RUNNERS if re.search(pattern, command)]
    assert runners, f"docs/cli.md has a command no test runs: {command!r}"
    runners[0](command)


@pytest.mark.parametrize("options", [GLOBAL_OPTIONS, RUN_OPTIONS, TOPOLOGY_OPTIONS], ids=["global", "run", "topology"])
def test_the_page_holds_the_option_tables_the_parser_and_help_use(options: tuple[CliOption, ...]) -> None:
    expected = options_table(options)
    assert expected in PAGE, "docs/cli.md's option table differs from the parser's; regenerate it:\n" + expected


def test_the_config_example_sets_the_run_options(tmp_path: Path) -> None:
    from tomodachi.cli import parse_run_arguments

    config = tmp_path / "run.json"
    config.write_text(blocks("json")[0])
    arguments = parse_run_arguments(["service.py", "-c", str(config)])
    assert arguments.brokers == {"amqp": "memory", "aws_sns_sqs": "memory"}
    assert arguments.inspect == ("127.0.0.1", 9800)
    assert arguments.topology == "flows.md"
