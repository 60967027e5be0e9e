"""Example: a FIFO SNS topic and queue keep each account's transactions in order and drop duplicate sends.

Run: tomodachi run examples/sns_sqs_fifo.py   (needs AWS or an emulator configured in Options)
Test: tests/examples/test_examples_sns_sqs.py runs it on the in-memory SNS+SQS.
"""

from __future__ import annotations

from typing import Any

import tomodachi
from tomodachi.envelope import JsonBase


class Ledger(tomodachi.Service):
    name = "example-ledger"
    message_envelope = JsonBase
    options = tomodachi.Options(aws_sns_sqs={"region_name": "eu-west-1"})

    def __init__(self) -> None:
        self.balances: dict[str, int] = {}
        self.history: list[str] = []

    async def record(self, transaction_id: str, account: str, amount: int) -> None:
        # group_id makes this a FIFO publish (topic "transaction.fifo"): messages of one group arrive in order,
        # groups are independent; a repeated deduplication_id within 5 minutes is dropped by SNS
        await tomodachi.sns_publish(
            self,
            {"account": account, "amount": amount},
            "transaction",
            group_id=account,
            deduplication_id=transaction_id,
        )

    @tomodachi.aws_sns_sqs("transaction", fifo=True, queue_name="example-ledger.fifo")
    async def apply(self, data: dict[str, Any], message_group_id: str) -> None:
        balance = self.balances.get(message_group_id, 0) + data["amount"]
        if balance < 0:
            raise ValueError(f"{message_group_id} would be overdrawn")  # cannot happen when order is kept
        self.balances[message_group_id] = balance
        self.history.append(f"{message_group_id}{data['amount']:+d}")
