"""Talking to a tomodachi process the docs tests started: bounded HTTP polls (there is no event to await in
another process) and waiting for the shop to mark an order paid."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.request
from typing import Any

SHOP_URL = "http://127.0.0.1:9700"


def http_get(url: str, process: subprocess.Popen[Any], deadline: float) -> tuple[int, str]:
    """Status and body of ``url`` once the process answers on it (404 included); fails if it exits first."""
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the process exited early with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()
        except OSError:
            time.sleep(0.1)  # polling an external process: there is no event to await
    raise AssertionError(f"{url} did not answer in time")


def wait_until_paid(order_id: str, process: subprocess.Popen[Any], timeout: float = 10) -> dict[str, Any]:
    """The order as the shop returns it once its status is ``paid`` (the payment travels SNS → payments → AMQP)."""
    deadline = time.monotonic() + timeout
    while True:
        order: dict[str, Any] = json.loads(http_get(f"{SHOP_URL}/orders/{order_id}", process, deadline)[1])
        if order["status"] == "paid":
            return order
        assert time.monotonic() < deadline, f"order {order_id} was never paid: {order}"
        time.sleep(0.05)  # polling an external process: there is no event to await
