"""The examples/sns_sqs_*.py services work as their docstrings say, on the in-memory broker."""

from __future__ import annotations

from pathlib import Path
from typing import Any

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


async def test_orders_and_billing(tomodachi_service: Any, fake_sns_sqs: Any) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("sns_sqs_orders_example", EXAMPLES / "sns_sqs_orders.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    billing = await tomodachi_service(module.Billing)
    orders = await tomodachi_service(module.Orders)
    await orders.instance.place_order("o-1", 10.0, "EUR")
    await orders.instance.place_order("o-2", 10.0, "USD")  # filtered out by the subscription
    await fake_sns_sqs.settle()
    assert billing.instance.invoiced == ["o-1:EUR"]
    assert "example-order___2e_placed" in fake_sns_sqs.topics()
    assert "billing-orders-dlq" in fake_sns_sqs.queues()
