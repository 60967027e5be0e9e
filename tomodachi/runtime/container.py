"""ServiceContainer: one service instance, its lifecycle hooks and its transports, started and stopped in order."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

from tomodachi.handlers import handler_method
from tomodachi.messaging.broker import remember_environment
from tomodachi.runtime import context as execution_context
from tomodachi.runtime import discovery
from tomodachi.runtime.environment import Environment
from tomodachi.runtime.transport import (
    TRANSPORT_ORDER,
    BoundHandler,
    Transport,
    TransportContext,
    load_transport_factory,
)
from tomodachi.service import discover_handlers

if TYPE_CHECKING:
    from tomodachi.logging import FrameworkLogger

# the shortest stop a service gets, whatever it sets (as upstream)
MIN_GRACE_PERIOD = 2.0


class ServiceStartError(Exception):
    """A service failed to start; ``stage`` names what failed (init, config, start hook, a transport...)."""

    def __init__(self, service_name: str, stage: str, cause: BaseException) -> None:
        super().__init__(f"service {service_name!r} failed to start ({stage}): {type(cause).__name__}: {cause}")
        self.service_name = service_name
        self.stage = stage
        self.cause = cause


def _logger(name: str) -> FrameworkLogger:
    from tomodachi.logging import framework_logger  # same records as get_logger(), without importing structlog

    return framework_logger(name)


def apply_config(instance: object, config: Mapping[str, object]) -> None:
    """Apply a config-file mapping to a service instance, key by key as config files merge
    (``tomodachi.options.merge_config_value``: options and dicts merge deeply, lists concatenate, anything else
    replaces). An options section at the top level is refused (it would only set an attribute nobody reads)."""
    from tomodachi.options import merge_config_value
    from tomodachi.settings_check import config_errors

    errors = config_errors(config)
    if errors:
        raise ValueError("; ".join(errors))
    for key, value in config.items():
        setattr(instance, key, merge_config_value(getattr(instance, key, None), value))


# what a lifecycle hook's own lines carry (get_logger() without a name, self.log()), as upstream logs them
_HOOK_EVENTS = {
    "_start_service": "lifecycle.setup",
    "_started_service": "lifecycle.initialized",
    "_stopping_service": "lifecycle.interrupt",
    "_stop_service": "lifecycle.teardown",
}


async def _call_hook(instance: object, hook: str) -> None:
    method = getattr(instance, hook, None)
    if method is None or not callable(method):
        return
    from tomodachi.logging import bind_handler_context

    with bind_handler_context(
        "tomodachi.lifecycle.handler", handler=hook, type="tomodachi.event", event_=_HOOK_EVENTS.get(hook, hook)
    ):
        result = method()
        if inspect.isawaitable(result):
            await result


class ServiceContainer:
    """Runs one service class: ``await start()`` then, later, ``await stop()``."""

    def __init__(
        self,
        service_class: type,
        environment: Environment,
        *,
        config: Mapping[str, object] | None = None,
        file_path: str | None = None,
    ) -> None:
        self.service_class = service_class
        self.environment = environment
        self.config = dict(config or {})
        self.file_path = file_path
        self.instance: Any = None
        self.transports: dict[str, Transport] = {}
        self.started = asyncio.Event()
        self.stopped = asyncio.Event()
        self._stop_task: asyncio.Future[None] | None = None

    @property
    def name(self) -> str:
        return str(getattr(self.instance, "name", None) or getattr(self.service_class, "name", "service"))

    def instantiate(self) -> None:
        """Create and configure the service instance (options, config, post-init hooks); nothing is started."""
        try:
            instance = self.service_class()
        except Exception as exc:
            _logger("tomodachi.init").exception("failed to initialize instance", service=self.name)
            raise ServiceStartError(self.name, "initialize instance", exc) from exc
        try:
            # per-service options: never share the class-level Options object between instances or runs
            instance.options = cast(Any, self.service_class).options.copy()
            instance.context = {
                key: value
                for key, value in vars(self.service_class).items()
                if not key.startswith("__") and not callable(value)
            }
            instance.context["_service_file_path"] = self.file_path
            # upstream's context held itself under "context" (its examples read context["context"][...])
            instance.context["context"] = instance.context
            # publish functions called from any handler find this service's brokers through it
            remember_environment(instance, self.environment)
            apply_config(instance, self.config)
        except Exception as exc:
            _logger("tomodachi.init").exception("failed to setup config", service=self.name)
            raise ServiceStartError(self.name, "config", exc) from exc
        try:
            for attr in dir(instance):
                if attr.endswith("__post_init_hook"):
                    getattr(instance, attr)()
        except Exception as exc:
            _logger("tomodachi.init").exception("failed to run post init hooks", service=self.name)
            raise ServiceStartError(self.name, "post init hooks", exc) from exc
        self.instance = instance
        execution_context._set_service(self.name, instance)
        execution_context.report_execution(self.environment.execution)
        _logger("tomodachi.service").info("initializing service instance", service=self.name, uuid=instance.uuid)

    def _create_transports(self) -> None:
        grouped: dict[str, list[BoundHandler]] = {}
        for attr_name, spec in discover_handlers(self.service_class):
            bound = BoundHandler(name=attr_name, func=handler_method(self.instance, attr_name), spec=spec)
            grouped.setdefault(spec.transport, []).append(bound)
        order = {name: index for index, name in enumerate(TRANSPORT_ORDER)}
        for transport_name in sorted(grouped, key=lambda name: order.get(name, len(order))):
            factory = load_transport_factory(transport_name)
            self.transports[transport_name] = factory(
                TransportContext(
                    service=self.instance,
                    options=self.instance.options,
                    environment=self.environment,
                    handlers=tuple(grouped[transport_name]),
                )
            )

    async def start(self) -> None:
        """Start the service; on failure everything started so far is stopped and ServiceStartError raised."""
        self.instantiate()
        log = _logger("tomodachi.lifecycle")
        log.info("starting the service", service=self.name, state="starting")
        stage = "create transports"
        try:
            self._create_transports()
            stage = "_start_service"
            await _call_hook(self.instance, "_start_service")
            stage = "transport setup"
            await asyncio.gather(*(transport.setup() for transport in self.transports.values()))
            log.info("enabled handler functions", service=self.name, state="initialized")
            await discovery.register(self.instance, self.transports)  # deprecated service.discovery; never raises
            stage = "_started_service"
            await _call_hook(self.instance, "_started_service")
            stage = "transport start"
            for transport in self.transports.values():
                await transport.start()
        except Exception as exc:
            _logger("exception").exception(f"uncaught exception: {exc}", service=self.name, stage=stage)
            log.warning("failed to start service", service=self.name, state="aborting", stage=stage)
            await self.stop(run_stopping_hook=False)
            raise ServiceStartError(self.name, stage, exc) from exc
        log.info("started service successfully", service=self.name, state="ready")
        self.started.set()

    def forget(self) -> None:
        """Drop an instance that was only created to be described (never started) from the execution context."""
        if self.instance is not None:
            execution_context._unset_service(self.name)

    def grace_period(self) -> float:
        options = getattr(self.instance, "options", None)
        try:
            configured = float(options.http.termination_grace_period_seconds)  # type: ignore[union-attr]
        except (AttributeError, TypeError, ValueError):
            return 30.0
        if configured < MIN_GRACE_PERIOD:
            from tomodachi.settings_check import warn_once

            # upstream waits at least 2 s whatever is set; services may carry a smaller value
            warn_once(
                f"termination_grace_period_seconds={configured:g}",
                f"http.termination_grace_period_seconds={configured:g} is below the minimum of "
                f"{MIN_GRACE_PERIOD:g} s: running handlers get {MIN_GRACE_PERIOD:g} s to finish at stop",
            )
        return max(MIN_GRACE_PERIOD, configured)

    async def stop(self, *, run_stopping_hook: bool = True, grace_period: float | None = None) -> None:
        """Graceful stop: ``_stopping_service`` completes, transports stop in reverse order, ``_stop_service``.

        Runs once; every caller waits for that one stop, and a caller being cancelled (e.g. the watcher in the
        middle of a restart) does not cut it short for the others. ``grace_period`` overrides the service's
        ``termination_grace_period_seconds`` (0: cut running handlers off at once)."""
        if self._stop_task is None:
            self._stop_task = asyncio.ensure_future(self._stop(run_stopping_hook, grace_period))
        await asyncio.shield(self._stop_task)

    async def _stop(self, run_stopping_hook: bool, grace_period: float | None = None) -> None:
        log = _logger("tomodachi.lifecycle")
        if self.instance is None:
            self.stopped.set()
            return
        log.info("stopping service", service=self.name)
        if run_stopping_hook:
            await self._run_stop_hook("_stopping_service")
        await discovery.deregister(self.instance)  # only registries that were registered; never raises
        grace = self.grace_period() if grace_period is None else max(0.0, grace_period)
        for name, transport in reversed(list(self.transports.items())):
            try:
                await transport.stop(grace)
            except Exception:
                _logger("tomodachi.teardown").exception("error stopping transport", service=self.name, transport=name)
        await self._run_stop_hook("_stop_service")
        execution_context._unset_service(self.name)
        for attr in dir(self.instance):
            if attr.endswith("__post_teardown_hook"):
                try:
                    getattr(self.instance, attr)()
                except Exception:
                    _logger("tomodachi.teardown").exception("post teardown hook failed", service=self.name)
        log.info("terminated service", service=self.name)
        self.stopped.set()

    async def _run_stop_hook(self, hook: str) -> None:
        try:
            await _call_hook(self.instance, hook)
        except Exception as exc:
            _logger("exception").exception(f"uncaught exception: {exc}", service=self.name, handler=hook)
