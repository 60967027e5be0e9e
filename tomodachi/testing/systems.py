"""``TestSystem``: one test's whole system (services, fakes, clock) — the ``tomodachi_system`` fixture, and
``system(...)``, the same outside pytest fixtures (hypothesis examples, scripts, notebooks)."""

from __future__ import annotations

import asyncio
import difflib
from collections.abc import AsyncIterator, Awaitable, Mapping
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any, Protocol, TypeVar, cast, overload

from tomodachi.testing.clock import Duration, Instant, VirtualClock
from tomodachi.testing.crash import abandon, in_flight
from tomodachi.testing.fakes.protocols import FakeAmqp, FakeSnsSqs
from tomodachi.testing.handle import ServiceHandle
from tomodachi.testing.harness import ServiceHarness
from tomodachi.testing.plans import FaultPlan, session_seed, trace_lines
from tomodachi.testing.records import HandlerCall, Pending, TraceEvent

S = TypeVar("S")


class ServiceFactory(Protocol):
    """The ``tomodachi_service`` fixture: ``svc = await tomodachi_service(MyService, options={...})``."""

    @overload
    def __call__(
        self,
        service: type[S],
        *,
        config: Mapping[str, object] | None = None,
        options: Mapping[str, object] | None = None,
    ) -> Awaitable[ServiceHandle[S]]: ...

    @overload
    def __call__(
        self,
        service: str | Path,
        *,
        config: Mapping[str, object] | None = None,
        options: Mapping[str, object] | None = None,
    ) -> Awaitable[ServiceHandle[Any]]: ...


class TestSystem:
    """The services of one test, the fakes they talk over and the clock they run on."""

    __test__ = False  # not a pytest test class

    def __init__(self, harness: ServiceHarness) -> None:
        self.harness = harness

    @overload
    async def start(
        self,
        service: type[S],
        *,
        config: Mapping[str, object] | None = None,
        options: Mapping[str, object] | None = None,
    ) -> ServiceHandle[S]: ...

    @overload
    async def start(
        self,
        service: str | Path,
        *,
        config: Mapping[str, object] | None = None,
        options: Mapping[str, object] | None = None,
    ) -> ServiceHandle[Any]: ...

    async def start(
        self,
        service: type[object] | str | Path,
        *,
        config: Mapping[str, object] | None = None,
        options: Mapping[str, object] | None = None,
    ) -> ServiceHandle[Any]:
        """Start one more service in this system (a class, or a service file with one class)."""
        return await self.harness.start(service, config=config, options=options)

    @property
    def services(self) -> list[ServiceHandle[Any]]:
        """The handles of the running services, in start order."""
        return [handle for handle in self.harness.handles if not handle.container.stopped.is_set()]

    @overload
    def service(self, name: str) -> ServiceHandle[Any]: ...

    @overload
    def service(self, name: type[S]) -> ServiceHandle[S]: ...

    def service(self, name: str | type[object]) -> ServiceHandle[Any]:
        """The handle of the running service ``name``: its ``name`` attribute, its class name, or its class (then
        the handle is typed: ``system.service(Orders).instance`` is an ``Orders``)."""
        for handle in self.harness.handles:
            if isinstance(name, type):
                if handle.container.service_class is name:
                    return handle
            elif name in (handle.name, type(handle.container.instance).__name__):
                return handle
        names = [handle.name for handle in self.harness.handles]
        if isinstance(name, type):
            started = ", ".join(names) or "none"
            raise KeyError(f"no service of class {name.__name__} in this system (services: {started})")
        close = difflib.get_close_matches(name, names, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise KeyError(f"no service {name!r} in this system (services: {', '.join(names) or 'none'}).{hint}")

    @property
    def fake_amqp(self) -> FakeAmqp:
        return self.harness.fake("amqp")

    @property
    def fake_sns_sqs(self) -> FakeSnsSqs:
        return self.harness.fake("aws_sns_sqs")

    @property
    def clock(self) -> VirtualClock:
        """The virtual clock every service runs on (in-memory wires only)."""
        clock = self.harness.clock
        if not isinstance(clock, VirtualClock):
            raise RuntimeError("this system runs on real wires and the real clock; virtual time is not available")
        return clock

    async def settle(self, timeout: float | None = None) -> None:
        """Deliver on both buses until no message is in flight or ready at the current virtual time, follow-up
        publishes included. Never moves the clock; what waits on it is listed by pending(). ``timeout``: real
        seconds (default 10; on real wires, where this is a quiet-period wait, 30)."""
        await self.harness.settle(timeout)

    def pending(self) -> list[Pending]:
        """What waits on the clock (retry back-offs, visibility timeouts, delays, consumer back-offs)."""
        return self.harness.pending()

    async def run_until_idle(self, limit: Duration = timedelta(days=1)) -> None:
        """Advance the virtual clock through every pending back-off and timeout until no message is pending
        (scheduled functions fire on the way); ``IdleTimeout`` if work is still pending after ``limit``."""
        await self.harness.run_until_idle(limit)

    def apply(self, plan: FaultPlan, seed: int | None = None) -> FaultPlan:
        """Run the rest of the test under ``plan`` (faults decided message by message from its seed; ``seed``
        or ``pytest --tomodachi-seed=N`` overrides it). A failing test then reports the seed, the plan and the
        delivery trace. Returns the plan as applied."""
        return self.harness.apply_plan(plan, seed)

    def trace(self) -> list[str]:
        """The delivery trace so far: injected faults, handler calls and their outcome, lost messages."""
        return trace_lines(self.harness.ledger, limit=10_000)

    async def restart(self, service: ServiceHandle[S] | str) -> ServiceHandle[S]:
        """Crash ``service`` and start it again: the messages it was handling are not acknowledged and come back
        (AMQP: requeued with the redelivered flag; SQS: after their visibility timeout), its running handlers are
        cut off at once, then a fresh instance of the same class starts with the same options. Returns the new
        handle (the old one's instance is stopped)."""
        old = self.service(service) if isinstance(service, str) else service
        if old.started_with is None or old not in self.harness.handles:
            raise ValueError(f"{old.name!r} is not a running service of this system")
        if self.harness.wire != "fake":
            import pytest

            pytest.skip("restart() needs the in-memory wires; this run uses --tomodachi-wire=real")
        brokers = self.harness.memory_brokers()
        cut = in_flight(old)
        self.harness.ledger.timeline.append(
            TraceEvent(self.harness.clock.now(), f"{old.name} crashed with {len(cut)} message(s) in flight (restart)")
        )
        abandon(cut, brokers)
        await old.stop(grace_period=0)
        self.harness.handles.remove(old)
        service_class, config, options = old.started_with
        return cast(ServiceHandle[S], await self.harness.start(service_class, config=config, options=options))

    def calls(self, service: str, handler: str) -> list[HandlerCall]:
        return self.service(service).calls(handler)

    def take_errors(self) -> list[BaseException]:
        """Every service's captured handler exceptions, marked noticed."""
        return self.harness.take_errors()

    def expect_errors(self, *exception_types: type[BaseException]) -> None:
        """Exception types any service of this system may raise without failing the test."""
        self.harness.expect_errors(*exception_types)


@asynccontextmanager
async def system(
    *services: type[object] | str | Path,
    options: Mapping[str, object] | None = None,
    config: Mapping[str, object] | None = None,
    start: Instant | None = None,
    clock: VirtualClock | None = None,
    plan: FaultPlan | None = None,
    seed: int | None = None,
) -> AsyncIterator[TestSystem]:
    """Run ``services`` in-process on in-memory brokers and a virtual clock (frozen wall clock included) for the
    body of the ``async with``; stops them at exit and then, like the fixtures, raises ``UnnoticedErrors`` /
    ``LostMessages`` for handler errors or lost messages the body did not take or expect. Under a fault ``plan``
    (``seed`` overrides its seed) a failure carries the seed, the plan and the delivery trace as a note."""
    clock = clock if clock is not None else VirtualClock(start)
    froze = not clock.frozen
    if froze:
        clock.freeze()
    harness = ServiceHarness(clock)
    harness.seed_override = session_seed()
    if plan is not None:
        harness.apply_plan(plan, seed)
    try:
        try:
            for service in services:
                await harness.start(service, config=config, options=options)
            yield TestSystem(harness)
        finally:
            await harness.stop_all()
        harness.raise_unnoticed()
    except BaseException as exc:
        add_report(exc, harness)
        raise
    finally:
        if froze:
            clock.unfreeze()


def add_report(exc: BaseException, harness: ServiceHarness) -> None:
    """Attach the fault plan's failure report to ``exc`` (shown under its traceback)."""
    report = harness.failure_report()
    if report is not None and not isinstance(exc, (GeneratorExit, asyncio.CancelledError)):
        if hasattr(exc, "add_note"):
            exc.add_note(report)
        else:  # Python 3.10: no notes on exceptions
            exc.__notes__ = [*getattr(exc, "__notes__", []), report]  # type: ignore[attr-defined]
