"""The faults both in-memory fakes inject, in one vocabulary: duplicates, failed attempts, reordering, latency,
redelivery under a running handler and outages — all deterministic on the virtual clock."""

from __future__ import annotations

import random
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from tomodachi.messaging.faults import FaultTable, QueueFaults
from tomodachi.runtime.clock import Clock
from tomodachi.testing.clock import Duration, parse_duration
from tomodachi.testing.fakes.base import check_exception, check_times
from tomodachi.testing.ledger import Ledger
from tomodachi.testing.records import TraceEvent


class InjectedFailure(RuntimeError):
    """What ``fail_next_deliveries()`` raises in place of the handler unless told otherwise."""


class FaultInjection:
    """Mixed into the in-memory fakes, which provide the broker's :class:`FaultTable` and its resumption."""

    ledger: Ledger
    clock: Clock
    bus: str

    def queues(self) -> list[str]:
        raise NotImplementedError

    def _trace(self, text: str) -> None:
        """Write an injected fault into the test's delivery trace (with the bus and the virtual time)."""
        self.ledger.timeline.append(TraceEvent(self.clock.now(), f"{self.bus} {text}"))

    def _fault_table(self) -> FaultTable:
        raise NotImplementedError

    def _resume(self) -> None:
        """Deliver what waited during an outage."""
        raise NotImplementedError

    def duplicate_next(self, queue: str, copies: int = 2) -> None:
        """The next message to arrive on ``queue`` is delivered ``copies`` times (at-least-once delivery, as SQS
        and a requeueing RabbitMQ do). Call it again to duplicate the message after that too."""
        if isinstance(copies, bool) or not isinstance(copies, int) or copies < 2:
            raise ValueError(f"copies must be an int of at least 2, not {copies!r}")
        self._faults(queue).copies.append(copies)

    def fail_next_deliveries(
        self, queue: str, times: int = 1, exc: BaseException | type[BaseException] | None = None
    ) -> None:
        """The next ``times`` delivery attempts on ``queue`` fail as if the handler had raised ``exc`` (default:
        :class:`InjectedFailure`): they count as attempts, so the message is retried and then dead-lettered by
        the service's error policy. The injected exceptions do not fail the test as unnoticed errors; they are
        in the handler's call records."""
        count = check_times(times)
        faults = self._faults(queue)
        for _ in range(count):
            failure = check_exception(exc, InjectedFailure(f"injected delivery failure on {queue}"))
            self.ledger.mark_injected(failure)
            faults.failures.append(failure)

    def reorder(self, queue: str, seed: int | None = None) -> None:
        """Hand out the messages of ``queue`` in a seeded random order instead of arrival order (the same order
        for the same seed; ``None`` seeds from the queue's name). A FIFO queue keeps its per-group order."""
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise TypeError(f"seed must be an int or None, not {seed!r}")
        if queue.endswith(".fifo"):
            raise ValueError(f"{queue} is a FIFO queue: it keeps the order within each message group")
        self._faults(queue).shuffle = random.Random(zlib.crc32(queue.encode()) if seed is None else seed)
        self._trace(f"{queue}: messages handed out in a shuffled order (reorder, seed {seed})")

    def latency(self, queue: str, seconds: Duration) -> None:
        """Each new message on ``queue`` becomes deliverable ``seconds`` of the (virtual) clock after it arrives
        (seconds, a timedelta or a spoken duration such as ``"2 minutes"``); ``latency(queue, 0)`` removes it."""
        try:
            delay = parse_duration(seconds).total_seconds()
        except (TypeError, ValueError) as exc:
            raise ValueError(f"seconds must be a duration >= 0: {exc}") from None
        if delay < 0:
            raise ValueError(f"seconds must be a duration >= 0, not {seconds!r}")
        self._faults(queue).latency = delay

    @asynccontextmanager
    async def outage(self) -> AsyncIterator[None]:
        """The broker is unreachable inside the block: every publish fails (a service's publish fails once its
        client's retries are spent), consumers receive nothing; afterwards they resume."""
        table = self._fault_table()
        if table.outage:
            raise RuntimeError("an outage of this broker is already in progress")
        table.outage = True
        self._trace("broker unreachable (outage begins)")
        try:
            yield
        finally:
            table.outage = False
            self._trace("broker reachable again (outage ends)")
            self._resume()

    def _faults(self, queue: str) -> QueueFaults:
        if not isinstance(queue, str) or queue not in self.queues():
            raise KeyError(f"no queue {queue!r}; declared queues: {', '.join(self.queues()) or 'none'}")
        return self._fault_table().arm(queue)
