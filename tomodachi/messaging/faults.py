"""Faults an in-memory broker injects on a queue when a test asks for them (deterministic, per queue)."""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass, field


@dataclass
class QueueFaults:
    """What is armed on one queue: duplicate deliveries, failing attempts, shuffled order, delivery latency."""

    copies: deque[int] = field(default_factory=deque)  # deliveries of each of the next messages
    failures: deque[BaseException] = field(default_factory=deque)  # raised in place of the next handler calls
    shuffle: random.Random | None = None  # hand out ready messages in a seeded random order
    latency: float = 0.0  # seconds on the clock before a new message can be delivered

    def take_copies(self) -> int:
        return self.copies.popleft() if self.copies else 1

    def take_failure(self) -> BaseException | None:
        return self.failures.popleft() if self.failures else None


class FaultTable:
    """The faults of one broker: per-queue entries and whether the broker is unreachable (an outage)."""

    def __init__(self) -> None:
        self.queues: dict[str, QueueFaults] = {}
        self.outage = False

    def of(self, queue: str) -> QueueFaults | None:
        return self.queues.get(queue)

    def arm(self, queue: str) -> QueueFaults:
        return self.queues.setdefault(queue, QueueFaults())
