"""Process-wide execution context: registered services, the shared context dict, and tomodachi.exit()."""

from __future__ import annotations

import asyncio
import contextvars
import sys
import weakref
from collections.abc import Callable, Mapping
from typing import Any

from tomodachi.runtime.execution_report import ExecutionReport, combined

_services: dict[str, Any] = {}
_execution_context: dict[str, Any] = {}
# the reports of the Environments whose services run in this process (weak: a forgotten one does not linger)
_reports: weakref.WeakSet[ExecutionReport] = weakref.WeakSet()
_contextvars: dict[str, contextvars.ContextVar[Any]] = {}
# set by the launcher / harness: called by tomodachi.exit() to stop every running service
_exit_handler: Callable[[], None] | None = None


def _set_service(name: str, instance: object) -> None:
    _services.pop(name, None)  # re-insert so the most recently registered is last
    _services[name] = instance


def _unset_service(name: str) -> None:
    _services.pop(name, None)


def _clear_services() -> None:
    _services.clear()


def get_service(name: str | None = None) -> Any:
    """The service instance registered under ``name``; without a name the most recently registered one."""
    if name is None:
        return next(reversed(_services.values()), None)
    return _services.get(name)


get_instance = get_service


def get_services() -> list[Any]:
    return list(_services.values())


def get_execution_context() -> dict[str, Any]:
    """Upstream's process-wide execution context (callers may change it in place), with what the transports of
    the running Environments report (enabled transports, versions, task counters) brought up to date."""
    if _reports:
        _execution_context.update(combined(_reports))
    return _execution_context


def report_execution(report: ExecutionReport) -> None:
    """Fold ``report`` (an Environment's) into the execution context from now on; called when a service starts."""
    _reports.add(report)


def withdraw_execution_report(report: ExecutionReport, *, keep_values: bool) -> None:
    """Stop folding ``report`` in. ``keep_values``: its last values stay in the context (a finished run's
    counters, as upstream keeps them); otherwise its keys go (a test's Environment leaves nothing behind)."""
    if report not in _reports:
        return
    _reports.discard(report)
    values = report.values()
    if keep_values:
        _execution_context.update(values)
        return
    still_reported = combined(_reports)
    for key in values:
        if key in still_reported:
            _execution_context[key] = still_reported[key]
        else:
            _execution_context.pop(key, None)


def set_execution_context(values: Mapping[str, object]) -> None:
    _execution_context.update(values)


def _clear_execution_context() -> None:
    _execution_context.clear()


def increase_execution_context_value(key: str, value: int = 1) -> None:
    _execution_context[key] = _execution_context.get(key, 0) + value


def decrease_execution_context_value(key: str, value: int = 1) -> None:
    _execution_context[key] = _execution_context.get(key, 0) - value


def get_contextvar(key: str) -> contextvars.ContextVar[Any]:
    if key not in _contextvars:
        _contextvars[key] = contextvars.ContextVar(f"tomodachi.{key}", default=None)
    return _contextvars[key]


def context(key: str) -> Any:
    """Value of an internal context variable, ``None`` if it was never created or set."""
    var = _contextvars.get(key)
    return var.get() if var is not None else None


def _set_exit_handler(handler: Callable[[], None] | None) -> None:
    global _exit_handler
    _exit_handler = handler


def exit(exit_code: int | None = None) -> None:
    """Stop every running service; the process exits with ``exit_code`` (or the current SERVICE_EXIT_CODE)."""
    import tomodachi

    if exit_code is not None:
        tomodachi.SERVICE_EXIT_CODE = exit_code
    from tomodachi.logging import get_logger

    get_logger("tomodachi.exit").warning(f"tomodachi.exit [{tomodachi.SERVICE_EXIT_CODE}] was called")
    get_contextvar("exit_code").set(tomodachi.SERVICE_EXIT_CODE)
    if _exit_handler is not None:
        _exit_handler()
        return
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        sys.exit(tomodachi.SERVICE_EXIT_CODE)
    # inside a loop but outside our launcher (code embedding tomodachi as upstream's helpers do): as upstream,
    # ask ServiceLauncher to stop what it runs, with its pre/post hooks
    from tomodachi.runtime.module_container import ServiceLauncher

    ServiceLauncher.stop_services()
