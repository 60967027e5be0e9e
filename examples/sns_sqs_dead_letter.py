"""Example: a handler that keeps failing on a message; after ``max_receive_count`` receives SQS moves it to a
dead-letter queue, where a second handler parks it for a human — the other messages are not held up.

Run: tomodachi run examples/sns_sqs_dead_letter.py   (needs AWS or an emulator configured in Options)
Test: tests/examples/test_examples_sns_sqs.py drives the retries with the virtual clock.
"""

from __future__ import annotations

from typing import Any

import tomodachi
from tomodachi.envelope import JsonBase


class Payments(tomodachi.Service):
    name = "example-payments"
    message_envelope = JsonBase
    options = tomodachi.Options(aws_sns_sqs={"region_name": "eu-west-1"})

    def __init__(self) -> None:
        self.captured: list[str] = []
        self.parked: list[dict[str, Any]] = []

    # a failed receive is retried with back-off (the message becomes visible again later on the clock);
    # the third failed receive moves it to "example-payments-dlq"
    @tomodachi.aws_sns_sqs(
        "payment.requested",
        queue_name="example-payments",
        dead_letter_queue_name="example-payments-dlq",
        max_receive_count=3,
    )
    async def capture(self, data: dict[str, Any], approximate_receive_count: int) -> None:
        if data["card"] == "expired":
            raise RuntimeError(f"card declined for payment {data['payment_id']} (receive {approximate_receive_count})")
        self.captured.append(data["payment_id"])

    @tomodachi.aws_sns_sqs(queue_name="example-payments-dlq")
    async def park(self, data: dict[str, Any]) -> None:
        self.parked.append(data)
