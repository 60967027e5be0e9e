"""Hypothesis strategies for fault plans: random faults on the queues of a system, with a seed."""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import strategies as st

from tomodachi.testing.plans import BUSES, Fault, FaultPlan

__all__ = ["fault_plans", "faults"]

# kinds that only disturb delivery: a system that tolerates at-least-once delivery stays correct under them
TOLERABLE_KINDS = ("duplicate", "fail", "latency", "reorder")


@st.composite
def faults(
    draw: st.DrawFn,
    queues: Sequence[str] | None = None,
    kinds: Sequence[str] = TOLERABLE_KINDS,
    max_probability: float = 0.5,
) -> Fault:
    """One fault of one of ``kinds``, on one of ``queues`` (or on every queue) of either bus, with a probability up
    to ``max_probability`` or at a few message steps."""
    kind = draw(st.sampled_from(list(kinds)))
    queue = draw(st.none() | st.sampled_from(list(queues))) if queues else None
    bus = draw(st.none() | st.sampled_from(BUSES))
    at: tuple[int, ...] = ()
    probability = 1.0
    if kind != "reorder" and draw(st.booleans()):
        at = tuple(sorted(draw(st.sets(st.integers(1, 10), min_size=1, max_size=3))))
    else:
        probability = draw(st.floats(0.05, max_probability).map(lambda p: round(p, 2)))
    return Fault(
        kind,  # type: ignore[arg-type]
        probability=probability,
        queue=queue,
        bus=bus,
        at=at,
        copies=draw(st.integers(2, 3)),
        seconds=draw(st.sampled_from((0.5, 1.0, 2.0, 5.0))),
    )


def fault_plans(
    queues: Sequence[str] | None = None,
    kinds: Sequence[str] = TOLERABLE_KINDS,
    max_faults: int = 4,
    max_probability: float = 0.5,
) -> st.SearchStrategy[FaultPlan]:
    """Fault plans of up to ``max_faults`` faults (see :func:`faults`) and a random seed; shrinking goes towards
    fewer faults and seed 0, so a failing example is reported small."""
    return st.builds(
        FaultPlan,
        st.lists(faults(queues, kinds, max_probability), max_size=max_faults).map(tuple),
        st.integers(0, 2**32 - 1),
    )
