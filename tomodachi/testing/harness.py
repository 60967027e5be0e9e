"""Starts services in-process on a chosen Environment (clock + brokers) and gives tests a handle to each."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable, Hashable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload

from tomodachi.messaging.broker import AnyBroker
from tomodachi.messaging.memory_brokers import MEMORY_BROKERS, create_memory_broker
from tomodachi.runtime import context as execution_context
from tomodachi.runtime.clock import Clock
from tomodachi.runtime.container import ServiceContainer
from tomodachi.runtime.environment import BrokerFactory, Environment
from tomodachi.runtime.importer import load_services
from tomodachi.service import TomodachiServiceMeta
from tomodachi.testing.clock import Duration, VirtualClock, parse_duration
from tomodachi.testing.fakes.base import FakeBase, TestSender
from tomodachi.testing.handle import ServiceHandle, expected_types
from tomodachi.testing.ledger import CapturedError, Ledger, LostMessages, UnnoticedErrors
from tomodachi.testing.plans import FaultPlan, Planner, failure_report
from tomodachi.testing.records import Pending
from tomodachi.testing.settle import DEFAULT_SETTLE_TIMEOUT, pending_of, run_until_idle, settle
from tomodachi.topology.observed import FlowRecorder

if TYPE_CHECKING:
    from tomodachi.messaging.amqp.memory import MemoryAmqpBroker
    from tomodachi.messaging.sns_sqs.memory import MemorySnsSqsBroker
    from tomodachi.options import Options
    from tomodachi.testing.fakes.amqp import InMemoryAmqp
    from tomodachi.testing.fakes.protocols import FakeAmqp, FakeSnsSqs
    from tomodachi.testing.fakes.real import RealWireFake
    from tomodachi.testing.fakes.sns_sqs import InMemorySnsSqs

__all__ = ["CapturedError", "LostMessages", "MEMORY_BROKERS", "ServiceHandle", "ServiceHarness", "UnnoticedErrors"]


S = TypeVar("S")

# how long (real seconds) a teardown step may make no progress before a VirtualClock is moved to its next timer
TEARDOWN_POLL_SECONDS = 0.05


class ServiceHarness:
    """Owns the services of one test: one Environment, the fakes, captured errors, ordered teardown."""

    def __init__(
        self,
        clock: Clock,
        *,
        http_bind: tuple[str, int] | None = ("127.0.0.1", 0),
        wire: str = "fake",
        wire_options: Mapping[str, object] | None = None,
    ) -> None:
        """``wire="fake"``: in-memory brokers. ``wire="real"``: the transports' real brokers; ``wire_options``
        (dotted keys: endpoints, credentials, per-test prefixes) are merged into every service's options."""
        if wire not in ("fake", "real"):
            raise ValueError(f"wire must be 'fake' or 'real', not {wire!r}")
        self.wire = wire
        self.wire_options: dict[str, Any] = dict(wire_options or {})
        self.ledger = Ledger()
        self.handles: list[ServiceHandle[Any]] = []
        # the fakes made so far, in the order they were (settled and closed in that order)
        self._fakes: dict[str, FakeBase] = {}
        self._amqp_fake: InMemoryAmqp | RealWireFake | None = None
        self._sns_sqs_fake: InMemorySnsSqs | RealWireFake | None = None
        self._real_fakes: dict[str, RealWireFake] = {}
        self._brokers: dict[str, MemoryAmqpBroker | MemorySnsSqsBroker] = {}
        self.plan: FaultPlan | None = None
        self.seed_override: int | None = None  # --tomodachi-seed / @pytest.mark.tomodachi_seed
        self.flow_recorder: FlowRecorder | None = None
        # tomodachi.exit() while the test runs stops this test's services (no SystemExit); the exit handler, exit
        # code and what the services set in the process-wide execution context are restored at stop_all()
        self._saved_exit: tuple[Any, int] | None = None
        self._exit_task: asyncio.Task[None] | None = None
        self._saved_context: dict[str, Any] = {}
        self._real_brokers: list[AnyBroker] = []  # real wires: the brokers this harness's factories built
        # service files are imported with their folder on sys.path: forgotten at stop_all(), so a later test's
        # file with a same-named sibling module does not get this test's copy
        self._file_folders: list[str] = []
        self._modules_before: set[str] | None = None
        self._sys_path_before: list[str] | None = None
        factory = self._memory_factory if wire == "fake" else self._recording_factory
        self.environment = Environment(
            clock=clock,
            broker_factories={bus: factory(bus) for bus in MEMORY_BROKERS},
            report_error=self.ledger.report_error,
            http_bind=http_bind,
            observers=[self.ledger],
        )

    def record_flows(self, recorder: FlowRecorder) -> None:
        """Count this harness's flows into ``recorder`` (``pytest --tomodachi-topology``: one for the session)."""
        self.flow_recorder = recorder
        self.environment.observers.append(recorder)

    @property
    def clock(self) -> Clock:
        return self.environment.clock

    def _memory_factory(self, bus: str) -> BrokerFactory:
        """Every service of the test gets the bus's one in-memory broker, whatever its connection settings."""

        def memory(key: Hashable, build_default: Callable[[], AnyBroker]) -> AnyBroker:
            return self.memory_broker(bus)

        return memory

    def _recording_factory(self, bus: str) -> BrokerFactory:
        """Real wires: the services' real broker, recording each publish it accepted for ``fake_*.published``."""

        def recording(key: Hashable, build_default: Callable[[], AnyBroker]) -> AnyBroker:
            from tomodachi.testing.fakes.real import RecordingBroker

            broker = RecordingBroker(build_default(), self._real_fake(bus).record)
            self._real_brokers.append(broker)
            return broker

        return recording

    @overload
    def memory_broker(self, bus: Literal["amqp"]) -> MemoryAmqpBroker: ...

    @overload
    def memory_broker(self, bus: Literal["aws_sns_sqs"]) -> MemorySnsSqsBroker: ...

    @overload
    def memory_broker(self, bus: str) -> MemoryAmqpBroker | MemorySnsSqsBroker: ...

    def memory_broker(self, bus: str) -> MemoryAmqpBroker | MemorySnsSqsBroker:
        """The in-memory broker of ``bus`` shared by every service of this test (created on first use)."""
        if bus not in self._brokers:
            self._brokers[bus] = create_memory_broker(bus, self.clock)
        return self._brokers[bus]

    def memory_brokers(self) -> dict[str, MemoryAmqpBroker | MemorySnsSqsBroker]:
        """The in-memory brokers created so far, by bus."""
        return dict(self._brokers)

    @overload
    def fake(self, bus: Literal["amqp"]) -> FakeAmqp: ...

    @overload
    def fake(self, bus: Literal["aws_sns_sqs"]) -> FakeSnsSqs: ...

    @overload
    def fake(self, bus: str) -> FakeAmqp | FakeSnsSqs: ...

    def fake(self, bus: str) -> FakeAmqp | FakeSnsSqs:
        """The test API of ``bus`` (``fake_amqp`` / ``fake_sns_sqs``), created on first use: over the in-memory
        broker, or on real wires a stand-in with the same API over the real brokers."""
        if bus == "amqp":
            return self._fake_amqp()
        if bus == "aws_sns_sqs":
            return self._fake_sns_sqs()
        raise ValueError(f"unknown bus {bus!r}: use one of {', '.join(MEMORY_BROKERS)}")

    def _fake_amqp(self) -> InMemoryAmqp | RealWireFake:
        if self._amqp_fake is None:
            if self.wire == "real":
                self._amqp_fake = self._real_fake("amqp")
            else:
                from tomodachi.testing.fakes.amqp import InMemoryAmqp

                sender = TestSender(environment=self.environment)
                self._amqp_fake = InMemoryAmqp(self.memory_broker("amqp"), self.clock, self.ledger, sender)
            self._fakes["amqp"] = self._amqp_fake
        return self._amqp_fake

    def _fake_sns_sqs(self) -> InMemorySnsSqs | RealWireFake:
        if self._sns_sqs_fake is None:
            if self.wire == "real":
                self._sns_sqs_fake = self._real_fake("aws_sns_sqs")
            else:
                from tomodachi.testing.fakes.sns_sqs import InMemorySnsSqs

                sender = TestSender(environment=self.environment)
                broker = self.memory_broker("aws_sns_sqs")
                self._sns_sqs_fake = InMemorySnsSqs(broker, self.clock, self.ledger, sender)
            self._fakes["aws_sns_sqs"] = self._sns_sqs_fake
        return self._sns_sqs_fake

    def _real_fake(self, bus: str) -> RealWireFake:
        """Real wires: the stand-in fake of ``bus``, which the recording brokers tell about every publish."""
        found = self._real_fakes.get(bus)
        if found is None:
            from tomodachi.testing.fakes.real import real_wire_fake

            found = self._real_fakes[bus] = real_wire_fake(bus, self)
        return found

    def apply_plan(self, plan: FaultPlan, seed: int | None = None) -> FaultPlan:
        """Inject ``plan``'s faults on both in-memory buses from now on; its random choices come from ``seed``,
        else the session's ``--tomodachi-seed``, else the plan's own seed. Returns the plan as applied."""
        if self.wire != "fake":
            import pytest

            pytest.skip("fault plans need the in-memory wires; this run uses --tomodachi-wire=real")
        chosen = seed if seed is not None else self.seed_override
        applied = plan if chosen is None else plan.with_seed(chosen)
        for bus in MEMORY_BROKERS:
            planner = Planner(applied, bus, self.clock, self.ledger)
            self.memory_broker(bus).faults.plan(planner)
        self.plan = applied
        return applied

    def failure_report(self) -> str | None:
        """Seed, plan and delivery trace, when a fault plan is applied."""
        return failure_report(self.plan, self.ledger) if self.plan is not None else None

    def _settleable(self) -> list[FakeBase]:
        if self.wire == "fake":
            for bus in list(self._brokers):
                self.fake(bus)
        return list(self._fakes.values())

    async def settle(self, timeout: float | None = None) -> None:
        """Deliver on every bus until nothing can progress at the current virtual time (never moves the clock)."""
        if self.wire == "real":  # real brokers cannot say what is in transit: each fake waits for a quiet period
            fakes = [self.fake(bus) for bus in MEMORY_BROKERS]
            await asyncio.gather(*(fake.settle() if timeout is None else fake.settle(timeout) for fake in fakes))
            return
        await settle(self._settleable(), self.clock, DEFAULT_SETTLE_TIMEOUT if timeout is None else timeout)

    def pending(self) -> list[Pending]:
        """What waits on the clock across the buses, earliest first."""
        return pending_of(self._settleable())

    async def run_until_idle(self, limit: Duration = timedelta(days=1)) -> None:
        """Advance the virtual clock through back-offs and timeouts until no message work is pending."""
        if self.wire != "fake":
            await self.settle()
            return
        await run_until_idle(self._settleable(), self.clock, parse_duration(limit))

    @property
    def captured(self) -> list[CapturedError]:
        return self.ledger.errors

    def take_errors(self, service_name: str | None = None) -> list[BaseException]:
        return self.ledger.take_errors(service_name)

    def expect_errors(self, *exception_types: type[BaseException]) -> None:
        """Exception types any service of this test may raise without failing it."""
        self.ledger.expect_errors(None, expected_types(exception_types))

    def unnoticed_errors(self) -> list[CapturedError]:
        return self.ledger.unnoticed_errors()

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
        """Start a service class (or the first service class of a file) and wait until it is ready.

        ``options`` is merged key by key over the class options (dotted keys allowed), like a ``-c`` file.
        """
        file_path = None
        if not isinstance(service, (str, Path, type)):
            raise TypeError(
                f"start a service class or a service file's path, not {type(service).__name__} {service!r}"
                + (" (pass the class, not an instance)" if isinstance(type(service), TomodachiServiceMeta) else "")
            )
        if isinstance(service, type) and not isinstance(service, TomodachiServiceMeta):
            raise TypeError(f"{service.__name__} is not a service class (subclass tomodachi.Service)")
        if isinstance(service, (str, Path)):
            path, classes = self._load_services(service)
            if len(classes) > 1:
                names = ", ".join(cls.__name__ for cls in classes)
                raise ValueError(
                    f"{path} defines {len(classes)} service classes ({names}): pass the class to start, "
                    "or start them all with tomodachi_harness.start_file(path)"
                )
            file_path, service = str(path), classes[0]
        merged_config = dict(config or {})
        if options or self.wire_options:
            merged_config["options"] = self._layered_options(service, merged_config.get("options"), options)
        self._install_exit_handler()
        container = ServiceContainer(service, self.environment, config=merged_config, file_path=file_path)
        handle: ServiceHandle[Any] = ServiceHandle(self, container)
        handle.started_with = (service, config, options)
        self.handles.append(handle)
        await container.start()
        if self.flow_recorder is not None:
            self.flow_recorder.describe(container.instance, file_path)
        return handle

    def _layered_options(
        self, service_class: type, config_options: Any, test_options: Mapping[str, object] | None
    ) -> Options:
        """Class options, then wire options, the config's options and the test's options, each layer applied
        key by key (nested and dotted keys mix freely). The per-test AMQP queue prefix goes in front of the
        service's own prefix, wherever that came from."""
        options: Options = getattr(service_class, "options")  # noqa: B009 - set by the service metaclass
        wire_options = dict(self.wire_options)
        test_prefix = wire_options.pop("amqp.queue_name_prefix", None)
        for layer in (wire_options, config_options, test_options):
            if layer:
                options = options.merged(layer)
        if test_prefix:
            options = options.merged({"amqp.queue_name_prefix": test_prefix + (options.amqp.queue_name_prefix or "")})
        return options

    async def start_file(
        self,
        path: str | Path,
        *,
        config: Mapping[str, object] | None = None,
        options: Mapping[str, object] | None = None,
    ) -> list[ServiceHandle[Any]]:
        """Start every service class of a service file."""
        resolved, classes = self._load_services(path)
        return [await self.start(cls, config=config, options=options) for cls in classes]

    def _load_services(self, path: str | Path) -> tuple[Path, list[type]]:
        if self._modules_before is None:
            self._modules_before, self._sys_path_before = set(sys.modules), list(sys.path)
        resolved, classes = load_services(path)
        folder = resolved.parent.parent if resolved.name == "__init__.py" else resolved.parent
        self._file_folders.append(str(folder) + os.sep)
        return resolved, classes

    def _forget_service_files(self) -> None:
        if self._modules_before is None or self._sys_path_before is None:
            return
        folders = tuple(self._file_folders)
        for name, module in list(sys.modules.items()):
            file = getattr(module, "__file__", None) or ""
            if name not in self._modules_before and file.startswith(folders):
                del sys.modules[name]
        added = {folder.rstrip(os.sep) for folder in folders} - set(self._sys_path_before)
        sys.path[:] = [p for p in sys.path if p not in added]
        self._modules_before = self._sys_path_before = None
        self._file_folders = []

    def _install_exit_handler(self) -> None:
        if self._saved_exit is None:
            import tomodachi

            self._saved_exit = (execution_context._exit_handler, tomodachi.SERVICE_EXIT_CODE)
            self._saved_context = dict(execution_context.get_execution_context())
            execution_context._set_exit_handler(self._on_exit)

    def _on_exit(self) -> None:
        """``tomodachi.exit()``: stop the services in a task of their own, as the launcher does, so a handler
        calling it is not awaited by its own transport's stop."""
        if self._exit_task is None:
            self._exit_task = asyncio.get_running_loop().create_task(self._stop_handles())

    async def _stop_handles(self) -> None:
        for handle in reversed(self.handles):
            await handle.stop()

    async def _stop_services(self) -> None:
        if self._exit_task is not None:
            await self._exit_task
        await self._stop_handles()

    async def _on_virtual_time(self, step: Awaitable[None]) -> None:
        """Await a teardown ``step``. Nobody moves a VirtualClock at teardown, so while the step makes no progress
        the clock is moved to its next timer: a grace period for a handler still running (or a cancel timeout)
        passes in virtual time instead of hanging the test."""
        task = asyncio.ensure_future(step)
        clock = self.clock
        try:
            while not task.done():
                await asyncio.wait({task}, timeout=TEARDOWN_POLL_SECONDS)
                if task.done() or not isinstance(clock, VirtualClock):
                    continue
                due = clock.pending_until()
                if due is not None:
                    await clock.advance_to(due)
        except BaseException:
            task.cancel()
            raise
        task.result()

    async def stop_all(self) -> None:
        try:
            await self._on_virtual_time(self._stop_services())
            await self._close_environment()
        finally:
            self._forget_service_files()
            if self._saved_exit is not None:
                import tomodachi

                handler, exit_code = self._saved_exit
                self._saved_exit = None
                execution_context._set_exit_handler(handler)
                tomodachi.SERVICE_EXIT_CODE = exit_code
                # the transports' counters go with this test's Environment; what its services set through
                # tomodachi.set_execution_context() & co. is undone here
                execution_context.withdraw_execution_report(self.environment.execution, keep_values=False)
                values = execution_context.get_execution_context()
                values.clear()
                values.update(self._saved_context)

    async def _close_environment(self) -> None:
        brokers, self._real_brokers = self._real_brokers, []
        for broker in brokers:
            await broker.close()
        for fake in [*self._brokers.values(), *self._fakes.values()]:
            close = getattr(fake, "close", None)
            if close is not None:
                result = close()
                if asyncio.iscoroutine(result):
                    await result
        for handle in self.handles:
            execution_context._unset_service(handle.name)

    def raise_unnoticed(self) -> None:
        """Fail (``UnnoticedErrors`` / ``LostMessages``) on handler errors and lost messages nobody noticed."""
        self.ledger.raise_unnoticed()
