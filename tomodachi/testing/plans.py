"""Fault plans: which faults, on which queues, with what probability or at which steps — applied to a whole
system with a seed, so the same seed and plan replay the same deliveries, orders and timings."""

from __future__ import annotations

import os
import random
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Literal

from tomodachi.runtime.clock import Clock
from tomodachi.testing.fakes.faults import InjectedFailure
from tomodachi.testing.ledger import Ledger
from tomodachi.testing.records import DeadLetter, HandlerCall, TraceEvent

SEED_ENV = "TOMODACHI_SEED"
FaultKind = Literal["duplicate", "fail", "latency", "reorder"]
FAULT_KINDS: tuple[FaultKind, ...] = ("duplicate", "fail", "latency", "reorder")
BUSES = ("amqp", "aws_sns_sqs")


@dataclass(frozen=True)
class Fault:
    """One kind of fault on one queue (``None``: every queue) of one bus (``None``: both).

    It hits each message with ``probability``, or — when ``at`` is given — exactly the ``at``-th messages
    (1-based, counted per queue) on that queue. ``copies`` is for ``duplicate``, ``seconds`` for ``latency``;
    ``reorder`` shuffles a standard queue's order (FIFO queues keep theirs).
    """

    kind: FaultKind
    probability: float = 1.0
    queue: str | None = None
    bus: str | None = None
    at: tuple[int, ...] = ()
    copies: int = 2
    seconds: float = 1.0

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"fault kind must be one of {', '.join(FAULT_KINDS)}, not {self.kind!r}")
        if not 0.0 <= self.probability <= 1.0:
            raise ValueError(f"probability must be between 0 and 1, not {self.probability!r}")
        if self.bus is not None and self.bus not in BUSES:
            raise ValueError(f"bus must be one of {', '.join(BUSES)} or None, not {self.bus!r}")
        if any(step < 1 for step in self.at):
            raise ValueError(f"at counts messages from 1, not {self.at!r}")
        if self.copies < 2:
            raise ValueError(f"copies must be at least 2, not {self.copies!r}")
        if self.seconds < 0:
            raise ValueError(f"seconds must be >= 0, not {self.seconds!r}")

    def applies_to(self, bus: str, queue: str) -> bool:
        return (self.bus is None or self.bus == bus) and (self.queue is None or self.queue == queue)

    def __str__(self) -> str:
        where = f"{self.bus or 'any bus'}:{self.queue or '*'}"
        when = f"at {list(self.at)}" if self.at else f"p={self.probability:g}"
        extra = {"duplicate": f" x{self.copies}", "latency": f" {self.seconds:g}s"}.get(self.kind, "")
        return f"{self.kind}{extra} on {where} {when}"


@dataclass(frozen=True)
class FaultPlan:
    """A declarative set of faults and the seed their random choices come from."""

    faults: tuple[Fault, ...] = ()
    seed: int = 0

    def with_seed(self, seed: int) -> FaultPlan:
        return replace(self, seed=seed)

    def __str__(self) -> str:
        faults = "; ".join(str(fault) for fault in self.faults) or "no faults"
        return f"FaultPlan(seed={self.seed}: {faults})"


class _SessionSeed:
    """The seed a pytest session was started with (``--tomodachi-seed``), and the running test's
    ``@pytest.mark.tomodachi_seed`` (both set by the plugin)."""

    value: int | None = None
    test_value: int | None = None


def session_seed() -> int | None:
    """The seed every fault plan of this run uses instead of its own: ``pytest --tomodachi-seed=N``, else
    ``TOMODACHI_SEED``, else ``None``; the running test's ``@pytest.mark.tomodachi_seed`` before all of them."""
    if _SessionSeed.test_value is not None:
        return _SessionSeed.test_value
    if _SessionSeed.value is not None:
        return _SessionSeed.value
    raw = os.environ.get(SEED_ENV, "").strip()
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"{SEED_ENV} must be an int seed, not {raw!r}") from None


def set_test_seed(seed: int | None) -> int | None:
    """Set the running test's seed; returns the one it replaces."""
    before, _SessionSeed.test_value = _SessionSeed.test_value, seed
    return before


def set_session_seed(seed: int | None) -> int | None:
    """Set the session's seed; returns the one it replaces."""
    before, _SessionSeed.value = _SessionSeed.value, seed
    return before


@dataclass
class Planner:
    """Decides, message by message, the faults of one bus under a plan; logs each one it injects."""

    plan: FaultPlan
    bus: str
    clock: Clock
    ledger: Ledger
    _rngs: dict[tuple[str, str], random.Random] = field(default_factory=dict)
    _steps: Counter[tuple[str, str]] = field(default_factory=Counter)

    def copies(self, queue: str) -> int:
        fault = self._decide("duplicate", queue)
        if fault is None:
            return 1
        self._log(f"{self.bus} {queue}: next message delivered {fault.copies} times ({fault})")
        return fault.copies

    def failure(self, queue: str) -> BaseException | None:
        fault = self._decide("fail", queue)
        if fault is None:
            return None
        failure = InjectedFailure(f"injected delivery failure on {queue} ({fault})")
        self.ledger.mark_injected(failure)
        self._log(f"{self.bus} {queue}: delivery attempt fails ({fault})")
        return failure

    def latency(self, queue: str) -> float:
        fault = self._decide("latency", queue)
        if fault is None:
            return 0.0
        self._log(f"{self.bus} {queue}: message held {fault.seconds:g}s ({fault})")
        return fault.seconds

    def shuffle(self, queue: str) -> random.Random | None:
        if queue.endswith(".fifo"):
            return None
        fault = next((f for f in self.plan.faults if f.kind == "reorder" and f.applies_to(self.bus, queue)), None)
        if fault is None:
            return None
        self._log(f"{self.bus} {queue}: messages handed out in a shuffled order ({fault})")
        return self._rng(queue, "reorder")

    def _decide(self, kind: FaultKind, queue: str) -> Fault | None:
        faults = [f for f in self.plan.faults if f.kind == kind and f.applies_to(self.bus, queue)]
        if not faults:
            return None
        self._steps[(queue, kind)] += 1
        step = self._steps[(queue, kind)]
        rng = self._rng(queue, kind)
        for fault in faults:
            hit = step in fault.at if fault.at else rng.random() < fault.probability
            if hit:
                return fault
        return None

    def _rng(self, queue: str, kind: str) -> random.Random:
        # one stream per queue and kind: a fault on one queue does not shift the choices made on another
        key = (queue, kind)
        if key not in self._rngs:
            self._rngs[key] = random.Random(f"{self.plan.seed}:{self.bus}:{queue}:{kind}")
        return self._rngs[key]

    def _log(self, text: str) -> None:
        self.ledger.timeline.append(TraceEvent(self.clock.now(), text))


def trace_lines(ledger: Ledger, limit: int = 60) -> list[str]:
    """The delivery trace in the order things happened: injected faults, handler calls (who received what, how
    it ended) and lost messages; the last ``limit`` lines."""
    lines: list[str] = []
    for entry in ledger.timeline:
        if isinstance(entry, TraceEvent):
            lines.append(f"{entry.time.isoformat()} {entry.text}")
        elif isinstance(entry, HandlerCall):
            data = entry.arguments.get("data", entry.arguments.get("message"))
            outcome = "ok" if entry.exception is None else f"raised {type(entry.exception).__name__}"
            lines.append(f"{entry.time.isoformat()} {entry.service}.{entry.handler}({_short(data)}) {outcome}")
        elif isinstance(entry, DeadLetter):
            lines.append(f"{entry.time.isoformat()} {entry.describe()}")
    if len(lines) > limit:
        return [f"... {len(lines) - limit} earlier line(s)", *lines[-limit:]]
    return lines


def failure_report(plan: FaultPlan, ledger: Ledger) -> str:
    """What a failed test under a fault plan prints: the seed, the plan, the trace, and how to rerun it."""
    trace = "\n".join(f"  {line}" for line in trace_lines(ledger)) or "  (nothing was delivered)"
    return (
        f"tomodachi fault plan: {plan}\n"
        f"rerun exactly with: pytest --tomodachi-seed={plan.seed} (or @pytest.mark.tomodachi_seed({plan.seed}))\n"
        f"delivery trace:\n{trace}"
    )


def _short(value: object, width: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."
