"""Faults an in-memory broker injects on a queue when a test asks for them (deterministic, per queue)."""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol


class FaultPlanner(Protocol):
    """Decides faults message by message (a test's seeded fault plan); asked only when nothing is armed."""

    def copies(self, queue: str) -> int: ...

    def failure(self, queue: str) -> BaseException | None: ...

    def latency(self, queue: str) -> float: ...

    def shuffle(self, queue: str) -> random.Random | None: ...


@dataclass
class QueueFaults:
    """What is armed on one queue: duplicate deliveries, failing attempts, shuffled order, delivery latency."""

    queue: str = ""
    copies: deque[int] = field(default_factory=deque)  # deliveries of each of the next messages
    failures: deque[BaseException] = field(default_factory=deque)  # raised in place of the next handler calls
    shuffle: random.Random | None = None  # hand out ready messages in a seeded random order
    latency: float = 0.0  # seconds on the clock before a new message can be delivered
    planner: FaultPlanner | None = None
    notify: Callable[[str], None] | None = None  # told about each armed fault as it is injected

    def take_copies(self) -> int:
        if self.copies:
            copies = self.copies.popleft()
            self._notify(f"{self.queue}: next message delivered {copies} times (duplicate_next)")
            return copies
        return self.planner.copies(self.queue) if self.planner is not None else 1

    def take_failure(self) -> BaseException | None:
        if self.failures:
            failure = self.failures.popleft()
            self._notify(f"{self.queue}: delivery attempt fails with {failure!r} (fail_next_deliveries)")
            return failure
        return self.planner.failure(self.queue) if self.planner is not None else None

    def take_latency(self) -> float:
        planned = self.planner.latency(self.queue) if self.planner is not None else 0.0
        if self.latency > 0:
            self._notify(f"{self.queue}: message held {self.latency:g}s (latency)")
        return self.latency + planned

    def _notify(self, text: str) -> None:
        if self.notify is not None:
            self.notify(text)


class FaultTable:
    """The faults of one broker: per-queue entries, a fault plan's planner, and whether the broker is
    unreachable (an outage)."""

    def __init__(self) -> None:
        self.queues: dict[str, QueueFaults] = {}
        self.outage = False
        self.planner: FaultPlanner | None = None
        self.notify: Callable[[str], None] | None = None  # given to each queue's entry

    def of(self, queue: str) -> QueueFaults | None:
        if self.planner is None:
            return self.queues.get(queue)
        return self.arm(queue)

    def arm(self, queue: str) -> QueueFaults:
        faults = self.queues.get(queue)
        if faults is None:
            faults = self.queues[queue] = QueueFaults(queue, notify=self.notify)
        if self.planner is not None and faults.planner is None:
            faults.planner = self.planner
            faults.shuffle = faults.shuffle or self.planner.shuffle(queue)
        return faults

    def plan(self, planner: FaultPlanner | None) -> None:
        """Decide faults with ``planner`` from now on (``None``: only what is armed explicitly)."""
        self.planner = planner
        for faults in self.queues.values():
            faults.planner = None
            if planner is not None:
                self.arm(faults.queue)
