"""Upstream's programmatic interface: ``ServiceContainer(module)`` and ``ServiceLauncher``, over our runtime.

Code that embeds tomodachi the way upstream's own test helper does — import a service file, wrap the module in
a container, ``await container.run_until_complete()`` and wait on ``container.started_waiter`` — runs unchanged.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from types import ModuleType
from typing import Any, ClassVar

from tomodachi.helpers.aiobotocore_connector import remember_service_credentials
from tomodachi.runtime import context as execution_context
from tomodachi.runtime.container import ServiceContainer as ClassContainer
from tomodachi.runtime.container import ServiceStartError
from tomodachi.runtime.environment import Environment
from tomodachi.runtime.importer import service_classes_in
from tomodachi.transport.upstream_classes import AWSSNSSQSTransport

# what ``started_waiter`` resolves to: (service name, instance, log level) per started service
StartedService = tuple[str, Any, str]
Hook = Callable[[], Awaitable[None]]


def _logger(name: str) -> Any:
    from tomodachi.logging import get_logger

    return get_logger(name)


def _set_exit_code(code: int) -> None:
    import tomodachi

    tomodachi.SERVICE_EXIT_CODE = code


def _uses_aws(container: ClassContainer) -> bool:
    """Has SNS+SQS handlers, or AWS settings to publish with."""
    aws = container.instance.options.aws_sns_sqs
    return "aws_sns_sqs" in container.transports or bool(aws.region_name or aws.aws_access_key_id)


class ModuleContainer:
    """Runs every service class of one imported module until ``stop_service()`` (or ``tomodachi.exit()``)."""

    def __init__(self, module_import: ModuleType, configuration: Mapping[str, Any] | None = None) -> None:
        self.module_import = module_import
        self.module_name = module_import.__name__
        self.file_path = str(getattr(module_import, "__file__", "") or "")
        self.configuration = dict(configuration or {})
        self.started_waiter: asyncio.Future[Any] | None = None
        self.services_started: set[StartedService] = set()
        self.environment = Environment()
        self._close_waiter: asyncio.Future[None] | None = None
        self._containers: list[ClassContainer] = []

    def stop_service(self) -> None:
        """Ask the running services to stop (``run_until_complete()`` then stops them and returns)."""
        import tomodachi

        tomodachi.get_contextvar("exit_code").set(tomodachi.SERVICE_EXIT_CODE)
        if self._close_waiter is None:
            self._close_waiter = asyncio.get_event_loop().create_future()
        if not self._close_waiter.done():
            self._close_waiter.set_result(None)

    async def wait_stopped(self) -> None:
        if self._close_waiter is None:
            self._close_waiter = asyncio.get_running_loop().create_future()
        await self._close_waiter

    async def run_until_complete(self) -> None:
        """Start the module's services, resolve ``started_waiter``, wait for a stop request, stop them."""
        if self.started_waiter is None:
            self.started_waiter = asyncio.get_running_loop().create_future()
        ServiceLauncher.services.add(self)
        previous_exit_handler = execution_context._exit_handler
        execution_context._set_exit_handler(ServiceLauncher.stop_services)
        try:
            await self._start()
            if not self.started_waiter.done():
                self.started_waiter.set_result(self.services_started)
            await self.wait_stopped()
            await self._stop()
            import tomodachi

            # readable by whoever awaited this (upstream's helpers read it from their own task's context)
            tomodachi.get_contextvar("exit_code").set(tomodachi.SERVICE_EXIT_CODE)
        finally:
            execution_context._set_exit_handler(previous_exit_handler)
            ServiceLauncher.services.discard(self)

    async def _start(self) -> None:
        classes = service_classes_in(self.module_import)
        if not classes:
            _logger("tomodachi.init").warning(
                "no transport handlers defined", module=self.module_name, file_path=self.file_path
            )
            _set_exit_code(1)
            self.stop_service()
            return
        self._containers = [
            ClassContainer(cls, self.environment, config=self.configuration, file_path=self.file_path)
            for cls in classes
        ]
        results = await asyncio.gather(*(c.start() for c in self._containers), return_exceptions=True)
        # every instance that was created is reported, also when its start failed (a broker that refused the
        # connection): the caller may inspect it, then stops it; the exit code says the start failed
        self.services_started = {(c.name, c.instance, "INFO") for c in self._containers if c.instance is not None}
        for container in self._containers:
            if container.instance is not None and _uses_aws(container):
                remember_service_credentials(container.instance)
        failures = [result for result in results if isinstance(result, BaseException)]
        if failures:
            for failure in failures:
                if not isinstance(failure, ServiceStartError):  # those were logged where they happened
                    _logger("exception").error(f"uncaught exception: {failure}")
            _set_exit_code(1)
            self.stop_service()

    async def _stop(self) -> None:
        AWSSNSSQSTransport.topics.remember(c.instance for c in self._containers if c.instance is not None)
        await asyncio.gather(*(c.stop() for c in self._containers), return_exceptions=True)
        await self.environment.close_brokers()


class ServiceLauncher:
    """Upstream's launcher class: ``stop_services()`` stops every running :class:`ModuleContainer`, around the
    optional ``stop_services_pre_hook`` / ``stop_services_post_hook`` coroutines."""

    stop_services_pre_hook: ClassVar[Hook | None] = None
    stop_services_post_hook: ClassVar[Hook | None] = None
    restart_services: ClassVar[bool] = False
    services: ClassVar[set[ModuleContainer]] = set()

    @classmethod
    def stop_services(cls) -> None:
        asyncio.ensure_future(cls._stop_services())

    @classmethod
    async def _stop_services(cls) -> None:
        if cls.stop_services_pre_hook is not None:
            await cls.stop_services_pre_hook()
        for container in list(cls.services):
            container.stop_service()
        if cls.stop_services_post_hook is not None:
            await cls.stop_services_post_hook()

    @classmethod
    def run_until_complete(
        cls, service_files: list[str] | set[str] | tuple[str, ...], configuration: Mapping[str, Any] | None = None
    ) -> int:
        """Run the files' services like ``tomodachi run --production`` until stopped; the exit code."""
        from tomodachi.runtime.launcher import Launcher, run_launcher

        return run_launcher(Launcher(sorted(service_files), config=dict(configuration or {})))
