"""The conformance kit's wire-dependent pieces: how time passes, and the scenarios known to differ.

Every scenario in this folder runs unchanged on the in-memory wires (``pytest tests/conformance``) and on
RabbitMQ + moto (``pytest --tomodachi-wire=real tests/conformance``). What a scenario asserts never depends on
the wire; only *how time passes* does:

- in-memory wires: the services run on the virtual clock, so ``let_time_pass(seconds)`` advances it (retry
  back-offs and visibility timeouts fall due at once, in order);
- real wires: time passes by itself, so ``let_time_pass`` does nothing, and the next
  ``svc.wait_for_call(..., timeout=REAL_WAIT)`` waits in real time for the broker to bring the message back.

A scenario therefore reads the same on both wires: ``await let_time_pass(1)`` followed by
``await svc.wait_for_call("handler", count=2, timeout=REAL_WAIT)``. A scenario known to fail on one wire carries
``@pytest.mark.wire_difference(wire, reason=...)`` and is a strict xfail there (docs/conformance.md lists them).
"""

from __future__ import annotations

import pytest

from tests.conformance.kit import LetTimePass
from tomodachi.testing import TestSystem


@pytest.fixture
def let_time_pass(tomodachi_system: TestSystem, tomodachi_wire: str) -> LetTimePass:
    """``await let_time_pass(seconds)``: advance the virtual clock (in-memory wires); real time passes by itself."""

    async def advance(seconds: float) -> None:
        if tomodachi_wire == "fake":
            await tomodachi_system.clock.advance(seconds)

    return advance


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "wire_difference(wire, reason): the scenario is known to fail on `wire` ('fake' or 'real') for `reason` "
        "(listed in docs/conformance.md); there it is a strict xfail (an AssertionError), so a fix shows up as XPASS",
    )


@pytest.fixture(autouse=True)
def _known_wire_difference(request: pytest.FixtureRequest, tomodachi_wire: str) -> None:
    """Turn ``@pytest.mark.wire_difference(wire, reason=...)`` into a strict xfail when running on ``wire``."""
    for marker in request.node.iter_markers("wire_difference"):
        [wire] = marker.args
        if wire not in ("fake", "real"):
            raise ValueError(f"wire_difference: wire must be 'fake' or 'real', not {wire!r}")
        if wire == tomodachi_wire:
            reason = f"known difference on the {wire} wire: {marker.kwargs['reason']}"
            request.applymarker(pytest.mark.xfail(reason=reason, strict=True, raises=AssertionError))
