"""Digest: adds up every ``payment.completed`` (AMQP) into today's totals and the current hour's; at the top of
each hour (UTC) it records and publishes ``digest.hourly`` with the hour's count and sum, then starts over.

Totals live in memory, so run a single instance (two would each see part of the payments).

Run: tomodachi run examples/shop/digest.py   (needs RabbitMQ)
Test: tests/examples/test_examples_shop.py
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import tomodachi
from tomodachi.envelope import JsonBase


@dataclass
class Totals:
    count: int = 0
    amount: int = 0  # cents

    def add(self, amount: int) -> None:
        self.count += 1
        self.amount += amount


class Digest(tomodachi.Service):
    name = "shop-digest"
    message_envelope = JsonBase

    def __init__(self) -> None:
        self.today = Totals()
        self.this_hour = Totals()
        self.digests: list[dict[str, Any]] = []

    @tomodachi.amqp("payment.completed", queue_name="shop-digest-payments")
    async def payment_completed(self, data: dict[str, Any]) -> None:
        self.today.add(data["amount"])
        self.this_hour.add(data["amount"])

    # hours and days in UTC, whatever the host's time zone (some zones are off by half an hour)
    @tomodachi.hourly(timezone="UTC")
    async def hourly_digest(self, invocation_time: str) -> None:
        # invocation_time is the scheduled top of the hour, even when the call itself runs a little late
        hour_end = datetime.strptime(invocation_time, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
        hour, self.this_hour = self.this_hour, Totals()  # reset before awaiting: later payments count next hour
        if hour_end.hour == 0:
            self.today = Totals()  # that was the day's last hour
        digest = {"hour": (hour_end - timedelta(hours=1)).isoformat(), "count": hour.count, "amount": hour.amount}
        self.digests.append(digest)
        await tomodachi.amqp_publish(self, digest, routing_key="digest.hourly")
