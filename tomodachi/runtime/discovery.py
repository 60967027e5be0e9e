"""Calls the registries of the deprecated ``service.discovery`` list at start and stop.

A registry (a class or an object) may define any of these coroutine hooks:

- ``add_http_endpoint(service, host, port, method, pattern)``: once per HTTP route, before registering;
- ``_register_service(service)``: after every transport is set up, before ``_started_service``;
- ``_deregister_service(service)``: at stop, after ``_stopping_service``, while the transports still run.

Discovery is best effort: a failing hook is logged and never stops the service from starting or stopping.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tomodachi.logging import Logger

# the registries whose registration was attempted, so stop deregisters exactly those
_REGISTERED_KEY = "_tomodachi_discovery_registered"


def _logger() -> Logger:
    from tomodachi.logging import get_logger

    return get_logger("tomodachi.discovery")


def registries_of(instance: object) -> list[object]:
    registries = getattr(instance, "discovery", None) or []
    return list(registries) if isinstance(registries, (list, tuple)) else [registries]


async def _call(registry: object, hook: str, *args: object) -> None:
    method = getattr(registry, hook, None)
    if method is None or not callable(method):
        return
    try:
        result = method(*args)
        if inspect.isawaitable(result):
            await result
    except Exception as exc:
        _logger().exception(
            f"discovery {hook} failed: {type(exc).__name__}: {exc}",
            registry=getattr(registry, "name", None) or getattr(registry, "__name__", repr(registry)),
        )


def http_endpoints(transports: Mapping[str, object]) -> list[tuple[str, int, str, str]]:
    """(host, port, method, pattern) for every declared HTTP route; the implicit HEAD of a GET is left out."""
    transport = transports.get("http")
    address = getattr(transport, "bound_address", None)
    router = getattr(getattr(transport, "app", None), "router", None)
    if address is None or router is None:
        return []
    host, port = address
    endpoints: list[tuple[str, int, str, str]] = []
    for route in router.routes:
        declared = tuple(route.handler.spec.args.get("methods", ("GET",)))
        if route.method not in declared:
            continue
        endpoints.append((host, port, route.method, f"^{route.pattern.pattern}$"))
    return endpoints


async def register(instance: object, transports: Mapping[str, object]) -> None:
    """Announce HTTP endpoints, then ``_register_service``, on every registry of ``instance``."""
    registries = registries_of(instance)
    if not registries:
        return
    warnings.warn(
        f"service {getattr(instance, 'name', '?')!r}: the 'discovery' attribute is deprecated", DeprecationWarning, 2
    )
    context = getattr(instance, "context", None)
    if isinstance(context, dict):
        context[_REGISTERED_KEY] = registries
    try:
        endpoints = http_endpoints(transports)
    except Exception as exc:  # a route table we cannot read must not stop the service
        _logger().exception(f"cannot list http endpoints for discovery: {exc}")
        endpoints = []
    for registry in registries:
        for endpoint in endpoints:
            await _call(registry, "add_http_endpoint", instance, *endpoint)
        await _call(registry, "_register_service", instance)


async def deregister(instance: object) -> None:
    """``_deregister_service`` on every registry that ``register`` was run for."""
    context = getattr(instance, "context", None)
    registries = context.pop(_REGISTERED_KEY, None) if isinstance(context, dict) else None
    for registry in registries or []:
        await _call(registry, "_deregister_service", instance)
