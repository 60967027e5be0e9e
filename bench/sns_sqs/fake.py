"""The in-memory SNS+SQS that users' tests run on: messages/s through ``settle()`` and system start+stop.

Each repetition runs in a fresh process (after a warm-up); medians are reported.

    .venv/bin/python bench/sns_sqs/fake.py                       # 5,000 messages, 200 blocks, 5 reps
    .venv/bin/python bench/sns_sqs/fake.py --messages 2000 --blocks 100 --reps 3
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from typing import Any

import tomodachi
from tomodachi.envelope import JsonBase

TOPIC = "bench.sns"


class Sink(tomodachi.Service):
    """One SNS+SQS handler that keeps every message's data."""

    name = "sns-sink"
    message_envelope = JsonBase

    def __init__(self) -> None:
        self.received: list[Any] = []

    @tomodachi.aws_sns_sqs(TOPIC, queue_name="bench-sink")
    async def handle(self, data: Any) -> None:
        self.received.append(data)


class Relay(tomodachi.Service):
    """Consumes one topic and publishes to another (a start+stop has a consumer and a publisher)."""

    name = "sns-relay"
    message_envelope = JsonBase

    @tomodachi.aws_sns_sqs("bench.in", queue_name="bench-relay")
    async def relay(self, data: Any) -> None:
        await tomodachi.sns_publish(self, data, TOPIC)


async def _messages(messages: int) -> float:
    from tomodachi.testing import system

    async with system(Sink) as shop:
        fake = shop.fake_sns_sqs
        received = shop.service("sns-sink").instance.received
        started = time.perf_counter()
        for i in range(messages):
            await fake.publish(TOPIC, {"n": i})
        await fake.settle()
        elapsed = time.perf_counter() - started
        if len(received) != messages:
            raise RuntimeError(f"handled {len(received)} of {messages} messages")
    return elapsed


async def _blocks(blocks: int) -> float:
    from tomodachi.testing import system

    started = time.perf_counter()
    for _ in range(blocks):
        async with system(Sink, Relay) as shop:
            await shop.fake_sns_sqs.publish("bench.in", {"n": 1})
            await shop.settle()
    return time.perf_counter() - started


def worker(kind: str, count: int) -> float:
    async def main() -> float:
        if kind == "messages":
            await _messages(min(count, 500))
            return await _messages(count)
        await _blocks(max(10, count // 10))
        return await _blocks(count)

    return asyncio.run(main())


def run(kind: str, count: int) -> float:
    output = subprocess.run(
        [sys.executable, __file__, "--worker", kind, "--count", str(count)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return float(json.loads(output.strip().splitlines()[-1])["seconds"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--blocks", type=int, default=200)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--worker", choices=("messages", "blocks"))
    parser.add_argument("--count", type=int, default=0)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps({"seconds": worker(args.worker, args.count)}))
        return 0
    rates: list[float] = []
    block_ms: list[float] = []
    for _ in range(args.reps):  # interleaved, so drift in the machine's load hits both alike
        rates.append(args.messages / run("messages", args.messages))
        block_ms.append(run("blocks", args.blocks) / args.blocks * 1000)
    print(f"msg/s, SNS publish + settle ({args.messages} messages): {statistics.median(rates):,.0f}  {rates}")
    print(f"ms per system(Sink, Relay) block with one relayed message ({args.blocks} blocks): "
          f"{statistics.median(block_ms):.2f}  {[round(ms, 2) for ms in block_ms]}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
