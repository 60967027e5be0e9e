"""Runs the services of one or more files in this process: start, signals, graceful stop, reload, exit code."""

from __future__ import annotations

import asyncio
import os
import platform
import signal
import sys
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import tomodachi
from tomodachi.runtime import context as execution_context
from tomodachi.runtime.container import ServiceContainer, ServiceStartError
from tomodachi.runtime.environment import Environment
from tomodachi.runtime.importer import ServiceFileError, load_services

if TYPE_CHECKING:
    from tomodachi.logging import FrameworkLogger
    from tomodachi.runtime.embedded import EmbeddedBrokers
    from tomodachi.runtime.inspect_view import InspectServer
    from tomodachi.topology.observed import FlowRecorder


def _logger(name: str) -> FrameworkLogger:
    from tomodachi.logging import framework_logger  # same records as get_logger(), without importing structlog

    return framework_logger(name)


class Launcher:
    """Starts every service class of every file (in the order given) and stops them on a signal or exit()."""

    def __init__(
        self,
        files: Sequence[str],
        *,
        config: Mapping[str, object] | None = None,
        watch: bool = False,
        watcher_options: Mapping[str, object] | None = None,
        environment: Environment | None = None,
        brokers: Mapping[str, str] | None = None,
        inspect: tuple[str, int] | None = None,
        topology_file: str | None = None,
    ) -> None:
        """``brokers`` maps a bus to ``"memory"`` or ``"real"`` (default real); ``inspect`` serves a view of the
        in-memory brokers at (host, port); ``topology_file`` gets the observed flows when the run stops."""
        self.files = list(files)
        self.config = config or {}
        self.watch = watch
        self.watcher_options = watcher_options or {}
        self.environment = environment or Environment()
        self.containers: list[ServiceContainer] = []
        self._uuids: dict[tuple[str, str], str] = {}  # (file, class) -> uuid of its last started instance
        self.embedded: EmbeddedBrokers | None = None
        if brokers and "memory" in brokers.values():
            from tomodachi.runtime.embedded import EmbeddedBrokers

            self.embedded = EmbeddedBrokers(brokers, self.environment.clock)
            self.embedded.install(self.environment)
        if inspect is not None and self.embedded is None:
            raise ValueError("inspect shows the in-memory brokers: set at least one bus to memory")
        self.inspect = inspect
        self.inspect_url: str | None = None  # where the view of the in-memory brokers is served
        self.topology_file = topology_file
        self.recorder: FlowRecorder | None = None
        if topology_file is not None or inspect is not None:
            from tomodachi.topology.observed import FlowRecorder

            self.recorder = FlowRecorder()
            self.environment.observers.append(self.recorder)
        self._stop_requested: asyncio.Event | None = None
        self._signals_received = 0
        self._main_task: asyncio.Task[int] | None = None

    # -- start and stop ------------------------------------------------------------------------------------
    def _load(self) -> list[ServiceContainer]:
        containers: list[ServiceContainer] = []
        for file in self.files:
            path, classes = load_services(file)
            for cls in classes:
                config = self.config
                previous = self._uuids.get((str(path), cls.__qualname__))
                if previous is not None and "uuid" not in config:
                    # a restarted service keeps its uuid, so its per-instance queues (named after it) are reused
                    # instead of being left behind, still bound and filling up, on every reload
                    config = {**config, "uuid": previous}
                containers.append(ServiceContainer(cls, self.environment, config=config, file_path=str(path)))
        return containers

    async def start_services(self) -> None:
        self.containers = self._load()
        results = await asyncio.gather(*(c.start() for c in self.containers), return_exceptions=True)
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures:
            await self.stop_services()
            raise failures[0]
        for container in self.containers:
            key = (str(container.file_path), container.service_class.__qualname__)
            self._uuids[key] = str(container.instance.uuid)
            if self.recorder is not None:
                self.recorder.describe(container.instance, container.file_path)

    async def stop_services(self) -> None:
        await asyncio.gather(*(c.stop() for c in self.containers), return_exceptions=True)
        await self.environment.close_brokers()

    async def _start_unless_stopped(self) -> bool:
        """Start the services; a stop request during a slow start (e.g. a hanging ``_start_service``)
        cancels the start instead of waiting for it. True when the services started."""
        assert self._stop_requested is not None
        start = asyncio.create_task(self.start_services())
        stop = asyncio.create_task(self._stop_requested.wait())
        try:
            await asyncio.wait({start, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
        if start.done():
            start.result()  # re-raises a start failure
            return True
        start.cancel()
        await asyncio.gather(start, return_exceptions=True)
        return False

    def request_stop(self) -> None:
        if self._stop_requested is not None:
            self._stop_requested.set()

    def _on_signal(self, signum: int) -> None:
        self._signals_received += 1
        log = _logger("tomodachi.signal")
        if self._signals_received == 1:
            message = "interrupt signal <ctrl+c>" if signum == signal.SIGINT else "received termination signal"
            log.warning(message, signal=signal.Signals(signum).name, process_id=os.getpid())
            self.request_stop()
            return
        log.warning("second signal received: forcing stop", signal=signal.Signals(signum).name)
        if self._main_task is not None:
            self._main_task.cancel()

    # -- main ----------------------------------------------------------------------------------------------
    async def main(self) -> int:
        loop = asyncio.get_running_loop()
        self._stop_requested = asyncio.Event()
        self._main_task = asyncio.current_task()  # type: ignore[assignment]
        for signum in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(signum, self._on_signal, signum)
            except (NotImplementedError, RuntimeError):  # pragma: no cover - non-unix loops
                pass
        execution_context._set_exit_handler(self.request_stop)
        watcher_task: asyncio.Task[None] | None = None
        inspector: InspectServer | None = None
        try:
            try:
                inspector = await self._start_embedded()
            except OSError as exc:  # the port is taken, the host does not resolve
                host, port = self.inspect or ("", 0)
                _logger("tomodachi.brokers").error(f"cannot serve --inspect on {host}:{port}: {exc.strerror or exc}")
                return 1
            try:
                if not await self._start_unless_stopped():
                    # a signal or tomodachi.exit() arrived while the services were still starting
                    await self.stop_services()
                    return int(tomodachi.SERVICE_EXIT_CODE)
            except (ServiceFileError, ServiceStartError) as exc:
                if isinstance(exc, ServiceFileError):
                    _logger("tomodachi.importer").error(str(exc))
                if not self.watch:
                    return 1
                # in watch mode keep waiting for a fix on disk
                _logger("tomodachi.watcher").warning("service exited due to errors; waiting for file changes")
            if self.watch:
                from tomodachi.runtime.reload import watch_and_reload

                watcher_task = asyncio.create_task(watch_and_reload(self, self.watcher_options))
            await self._stop_requested.wait()
            if watcher_task is not None:
                watcher_task.cancel()
            await self.stop_services()
            return int(tomodachi.SERVICE_EXIT_CODE)
        except asyncio.CancelledError:
            return int(tomodachi.SERVICE_EXIT_CODE) or 1
        finally:
            await self._stop_embedded(inspector)
            execution_context._set_exit_handler(None)
            # the run's task counters stay readable after it, as upstream's process-wide ones do
            execution_context.withdraw_execution_report(self.environment.execution, keep_values=True)
            for signum in (signal.SIGINT, signal.SIGTERM):
                try:
                    loop.remove_signal_handler(signum)
                except (NotImplementedError, RuntimeError):  # pragma: no cover
                    pass

    async def _start_embedded(self) -> InspectServer | None:
        """Say where the messages live and, when asked, serve the view of the in-memory brokers."""
        if self.embedded is None:
            return None
        _logger("tomodachi.brokers").warning(self.embedded.notice())
        if self.inspect is None:
            return None
        from tomodachi.runtime.inspect_view import InspectServer

        recorder = self.recorder
        assert recorder is not None
        inspector = InspectServer(self.embedded.brokers, recorder.topology, *self.inspect)
        url = self.inspect_url = await inspector.start()
        _logger("tomodachi.brokers").info(f"in-memory brokers inspectable at {url}", url=url)
        return inspector

    async def _stop_embedded(self, inspector: InspectServer | None) -> None:
        if self.recorder is not None and self.topology_file is not None:
            from tomodachi.topology.command import write_topology

            try:
                write_topology(self.recorder.topology(), self.topology_file)
                _logger("tomodachi.topology").info("wrote the observed topology", file=self.topology_file)
            except OSError as exc:
                _logger("tomodachi.topology").error(f"could not write the topology: {exc}", file=self.topology_file)
        if inspector is not None:
            await inspector.stop()
        if self.embedded is not None:
            await self.embedded.close()


def set_launcher_context(loop_name: str, watcher_enabled: bool) -> None:
    execution_context.set_execution_context(
        {
            "tomodachi_version": tomodachi.__version__,
            "python_version": platform.python_version(),
            "system_platform": platform.system(),
            "process_id": os.getpid(),
            "init_timestamp": datetime.now(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z"),
            "event_loop": loop_name,
            "cwd": str(Path.cwd()),
            "watcher_enabled": watcher_enabled,
        }
    )


def run_launcher(launcher: Launcher, loop: str = "auto") -> int:
    """Run ``launcher`` on a fresh event loop of the requested kind and return the process exit code."""
    loop_name = "asyncio"
    if loop == "uvloop":
        import uvloop

        new_loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
        loop_name = "uvloop"
    else:
        new_loop = asyncio.new_event_loop()
    set_launcher_context(loop_name, launcher.watch)
    asyncio.set_event_loop(new_loop)
    try:
        return new_loop.run_until_complete(launcher.main())
    finally:
        try:
            _cancel_leftover_tasks(new_loop)
            new_loop.run_until_complete(new_loop.shutdown_asyncgens())
        finally:
            asyncio.set_event_loop(None)
            new_loop.close()
            sys.stdout.flush()


# how long tasks still running after a forced stop get to react to their cancellation
LEFTOVER_CANCEL_SECONDS = 2.0


def _cancel_leftover_tasks(loop: asyncio.AbstractEventLoop) -> None:
    """After a forced stop, handlers may still run: cancel them and give them a moment, so the interpreter does
    not tear them down mid-flight (a flood of "Task was destroyed but it is pending!" and logging errors)."""
    leftovers = [task for task in asyncio.all_tasks(loop) if not task.done()]
    if not leftovers:
        return
    for task in leftovers:
        task.cancel()
    loop.run_until_complete(asyncio.wait(leftovers, timeout=LEFTOVER_CANCEL_SECONDS))
