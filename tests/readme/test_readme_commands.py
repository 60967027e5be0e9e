"""The README's first commands work exactly as written: install and run the shop on in-memory brokers, an order
travelling through it by the curl lines, the single HTTP service, and the test command's place."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.readme.process_support import SHOP_URL, http_get, wait_until_paid

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
SHOP = "tomodachi run --brokers memory examples/shop/orders.py examples/shop/payments.py examples/shop/digest.py"


def readme_shell_blocks() -> list[str]:
    return [block.strip() for block in re.findall(r"```sh\n(.*?)```", README, flags=re.DOTALL)]


def test_readme_opens_with_the_system_the_curl_lines_the_single_service_and_the_test_command() -> None:
    blocks = readme_shell_blocks()
    assert blocks[0].endswith(f".venv/bin/{SHOP}")
    assert all(line.startswith("curl ") for line in blocks[1].splitlines())
    assert blocks[2] == ".venv/bin/tomodachi run examples/http_service.py"
    assert "pytest" in blocks[3]
    assert "<!-- test-command -->" in README.split(blocks[3])[0].splitlines()[-2]


@contextmanager
def running(command: str) -> Iterator[subprocess.Popen[bytes]]:
    """``command`` in bash from the repository root; stopped with SIGINT, which must end it with exit code 0."""
    process = subprocess.Popen(
        ["bash", "-c", command], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        yield process
        os.killpg(process.pid, signal.SIGINT)
        output, _ = process.communicate(timeout=30)
        assert process.returncode == 0, output.decode()[-2000:]
        assert b"terminated service" in output
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@pytest.mark.skipif(os.environ.get("TOMODACHI_SKIP_README_INSTALL") == "1", reason="install step disabled")
def test_first_command_installs_and_runs_the_shop_and_an_order_travels_through_it() -> None:
    blocks = readme_shell_blocks()
    with running(blocks[0]) as process:
        status, _ = http_get(f"{SHOP_URL}/orders/none", process, time.monotonic() + 240)
        assert status == 404  # up, and no such order
        place, _ = blocks[1].splitlines()
        placed = subprocess.run(["bash", "-c", place], cwd=ROOT, capture_output=True, text=True, timeout=30)
        assert placed.returncode == 0, placed.stderr
        assert json.loads(placed.stdout) == {"order_id": "o-1", "status": "placed"}
        # the payment confirmation travels SNS → payments → AMQP → orders: a few milliseconds in memory
        assert wait_until_paid("o-1", process) == {"order_id": "o-1", "amount": 1250, "status": "paid"}
        shown = subprocess.run(["bash", "-c", blocks[1]], cwd=ROOT, capture_output=True, text=True, timeout=30)
        assert shown.stdout.endswith('{"order_id": "o-1", "amount": 1250, "status": "paid"}')  # as the README says


def test_the_single_service_command_runs_the_http_example() -> None:
    with running(readme_shell_blocks()[2]) as process:
        status, body = http_get(f"{SHOP_URL}/", process, time.monotonic() + 60)
        assert (status, body) == (200, "hello from tomodachi")
