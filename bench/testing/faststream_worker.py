"""FastStream side of the messages/s case; run by the FastStream venv's interpreter (never the project's).

    python faststream_worker.py MESSAGES REPS  →  prints a JSON object with the seconds of each repetition

A ``RabbitBroker`` subscriber on one queue appends the decoded JSON body to a list; each repetition publishes
MESSAGES ``{"n": i}`` dicts with ``await br.publish(..., queue=...)`` inside ``async with TestRabbitBroker(broker)``
(entering the context is not timed, like the start of our system). TestRabbitBroker delivers each publish to the
subscriber before ``publish`` returns, so when the loop ends every message has been handled (checked).
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import json
import sys
import time
from typing import Any

from faststream.rabbit import RabbitBroker, TestRabbitBroker

QUEUE = "bench-queue"

broker = RabbitBroker()
received: list[Any] = []


@broker.subscriber(QUEUE)
async def handle(body: dict[str, Any]) -> None:
    received.append(body)


async def one_run(messages: int) -> float:
    received.clear()
    async with TestRabbitBroker(broker) as br:
        started = time.perf_counter()
        for i in range(messages):
            await br.publish({"n": i}, queue=QUEUE)
        elapsed = time.perf_counter() - started
        if len(received) != messages or received[-1] != {"n": messages - 1}:
            raise RuntimeError(f"FastStream handled {len(received)} of {messages} messages")
    return elapsed


async def main(messages: int, reps: int) -> None:
    await one_run(min(messages, 500))  # warm-up: imports, pydantic models, first-call caches
    seconds = [await one_run(messages) for _ in range(reps)]
    print(json.dumps({"version": importlib.metadata.version("faststream"), "seconds": seconds}))


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2])))
