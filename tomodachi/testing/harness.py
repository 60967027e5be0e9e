"""Starts services in-process on a chosen Environment (clock + brokers) and gives tests a handle to each."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tomodachi.runtime import context as execution_context
from tomodachi.runtime.clock import Clock
from tomodachi.runtime.container import ServiceContainer
from tomodachi.runtime.environment import Environment
from tomodachi.runtime.importer import load_services

# bus name -> "module:class" of the in-memory broker, built with clock=<the test's clock>
MEMORY_BROKERS: dict[str, str] = {
    "amqp": "tomodachi.messaging.amqp.memory:MemoryAmqpBroker",
    "aws_sns_sqs": "tomodachi.messaging.sns_sqs.memory:MemorySnsSqsBroker",
}


@dataclass(frozen=True)
class CapturedError:
    """An exception a handler raised while a test ran, and where (``"<service>.<handler>"``)."""

    exception: BaseException
    where: str


class UnnoticedErrors(AssertionError):
    """Raised at teardown when handlers raised exceptions the test neither expected nor took."""


class ServiceHandle:
    """What ``await tomodachi_service(MyService)`` returns."""

    def __init__(self, harness: ServiceHarness, container: ServiceContainer) -> None:
        self._harness = harness
        self.container = container
        self._http: Any = None

    @property
    def instance(self) -> Any:
        return self.container.instance

    @property
    def name(self) -> str:
        return self.container.name

    @property
    def clock(self) -> Clock:
        return self.container.environment.clock

    @property
    def errors(self) -> list[BaseException]:
        """Exceptions raised by this service's handlers so far (not yet taken)."""
        return [e.exception for e in self._harness.captured if e.where.startswith(f"{self.name}.")]

    def take_errors(self) -> list[BaseException]:
        """Return this service's captured handler exceptions and mark them as noticed."""
        return self._harness.take_errors(self.name)

    def expect_errors(self, *exception_types: type[BaseException]) -> None:
        """Declare exception types this test expects handlers to raise; they will not fail the test."""
        self._harness.expected.extend(exception_types)

    @property
    def http(self) -> Any:
        """An aiohttp ClientSession bound to this service's HTTP server (``await svc.http.get("/path")``)."""
        if self._http is None:
            import aiohttp

            transport = self.container.transports.get("http")
            address = getattr(transport, "bound_address", None)
            if address is None:
                raise RuntimeError(f"service {self.name!r} has no running HTTP server")
            host, port = address[0], address[1]
            self._http = aiohttp.ClientSession(base_url=f"http://{host}:{port}")
        return self._http

    async def stop(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None
        await self.container.stop()


class ServiceHarness:
    """Owns the services of one test: one Environment, the fakes, captured errors, ordered teardown."""

    def __init__(
        self,
        clock: Clock,
        *,
        http_bind: tuple[str, int] | None = ("127.0.0.1", 0),
        wire: str = "fake",
        wire_options: Mapping[str, Any] | None = None,
    ) -> None:
        """``wire="fake"``: in-memory brokers. ``wire="real"``: the transports' real brokers; ``wire_options``
        (dotted keys: endpoints, credentials, per-test prefixes) are merged into every service's options."""
        if wire not in ("fake", "real"):
            raise ValueError(f"wire must be 'fake' or 'real', not {wire!r}")
        self.wire = wire
        self.wire_options: dict[str, Any] = dict(wire_options or {})
        self.captured: list[CapturedError] = []
        self.expected: list[type[BaseException]] = []
        self.handles: list[ServiceHandle] = []
        self._fakes: dict[str, Any] = {}
        # tomodachi.exit() while the test runs stops this test's services (no SystemExit); the exit handler, exit
        # code and execution context are restored at stop_all()
        self._saved_exit: tuple[Any, int] | None = None
        self._exit_task: asyncio.Task[None] | None = None
        self._saved_context: dict[str, Any] = {}
        # service files are imported with their folder on sys.path: forgotten at stop_all(), so a later test's
        # file with a same-named sibling module does not get this test's copy
        self._file_folders: list[str] = []
        self._modules_before: set[str] | None = None
        self._sys_path_before: list[str] | None = None
        self.environment = Environment(
            clock=clock,
            broker_factories={bus: self._fake_factory(bus) for bus in MEMORY_BROKERS} if wire == "fake" else {},
            report_error=self._report_error,
            http_bind=http_bind,
            broker_observer=self._observe_broker if wire == "real" else None,
        )

    @property
    def clock(self) -> Clock:
        return self.environment.clock

    def _fake_factory(self, bus: str) -> Any:
        return lambda key: self.fake(bus)

    def fake(self, bus: str) -> Any:
        """The in-memory broker of ``bus`` shared by every service of this test (created on first use).

        On real wires: a probe with the same test API (publish, published, drain) over the real broker."""
        if bus not in self._fakes and self.wire == "real":
            from tomodachi.testing.probe import RealWireProbe

            self._fakes[bus] = RealWireProbe(bus, self)
        if bus not in self._fakes:
            import importlib

            module_name, _, class_name = MEMORY_BROKERS[bus].partition(":")
            broker_class = getattr(importlib.import_module(module_name), class_name)
            self._fakes[bus] = broker_class(clock=self.clock)
        return self._fakes[bus]

    def _observe_broker(self, bus: str, broker: Any) -> None:
        """Real wires: record every publish the way the memory broker would, for ``fake_*.published``."""
        probe = self.fake(bus)
        publish = broker.publish

        async def recording_publish(publication: Any, *args: Any, **kwargs: Any) -> Any:
            result = await publish(publication, *args, **kwargs)
            probe.record(publication, result)
            return result

        broker.publish = recording_publish

    def _report_error(self, exc: BaseException, where: str) -> None:
        self.captured.append(CapturedError(exc, where))

    def take_errors(self, service_name: str | None = None) -> list[BaseException]:
        taken = [e for e in self.captured if service_name is None or e.where.startswith(f"{service_name}.")]
        self.captured = [e for e in self.captured if e not in taken]
        return [e.exception for e in taken]

    def unnoticed_errors(self) -> list[CapturedError]:
        expected = tuple(self.expected)
        return [e for e in self.captured if not (expected and isinstance(e.exception, expected))]

    async def start(
        self,
        service: type | str | Path,
        *,
        config: Mapping[str, Any] | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> ServiceHandle:
        """Start a service class (or the first service class of a file) and wait until it is ready.

        ``options`` is merged key by key over the class options (dotted keys allowed), like a ``-c`` file.
        """
        file_path = None
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
        handle = ServiceHandle(self, container)
        self.handles.append(handle)
        await container.start()
        return handle

    def _layered_options(self, service_class: type, config_options: Any, test_options: Mapping[str, Any] | None) -> Any:
        """Class options, then wire options, the config's options and the test's options, each layer applied
        key by key (nested and dotted keys mix freely). The per-test AMQP queue prefix goes in front of the
        service's own prefix, wherever that came from."""
        options = getattr(service_class, "options")  # noqa: B009 - set by the service metaclass
        wire_options = dict(self.wire_options)
        test_prefix = wire_options.pop("amqp.queue_name_prefix", None)
        for layer in (wire_options, config_options, test_options):
            if layer:
                options = options.merged(layer)
        if test_prefix:
            options = options.merged({"amqp.queue_name_prefix": test_prefix + (options.amqp.queue_name_prefix or "")})
        return options

    async def start_file(self, path: str | Path, **kwargs: Any) -> list[ServiceHandle]:
        """Start every service class of a service file."""
        resolved, classes = self._load_services(path)
        return [await self.start(cls, **kwargs) for cls in classes]

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

    async def stop_all(self) -> None:
        try:
            if self._exit_task is not None:
                await self._exit_task
            await self._stop_handles()
            await self._close_environment()
        finally:
            self._forget_service_files()
            if self._saved_exit is not None:
                import tomodachi

                handler, exit_code = self._saved_exit
                self._saved_exit = None
                execution_context._set_exit_handler(handler)
                tomodachi.SERVICE_EXIT_CODE = exit_code
                # task counters and *_enabled keys set by this test's transports
                values = execution_context.get_execution_context()
                values.clear()
                values.update(self._saved_context)

    async def _close_environment(self) -> None:
        if self.wire == "real":
            await self.environment.close_brokers()
        for fake in self._fakes.values():
            close = getattr(fake, "close", None)
            if close is not None:
                result = close()
                if asyncio.iscoroutine(result):
                    await result
        for handle in self.handles:
            execution_context._unset_service(handle.name)

    def raise_unnoticed(self) -> None:
        unnoticed = self.unnoticed_errors()
        if unnoticed:
            lines = "\n".join(f"  {e.where}: {type(e.exception).__name__}: {e.exception}" for e in unnoticed)
            raise UnnoticedErrors(
                f"{len(unnoticed)} handler exception(s) were raised and not noticed by the test:\n{lines}\n"
                "Take them with svc.take_errors() or declare them with svc.expect_errors(ExcType)."
            )
