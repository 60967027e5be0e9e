"""Calls one http / http_error / websocket handler: pre_handler_func, the http_middleware chain, then injection."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence

from tomodachi.logging import bind_handler_context
from tomodachi.middleware import execute_middlewares
from tomodachi.runtime.clock import Clock
from tomodachi.runtime.observe import Observer, call_handler
from tomodachi.runtime.transport import BoundHandler
from tomodachi.transport.http.injection import call_arguments


def service_middlewares(service: object) -> list[Callable[..., object]]:
    """The internal pre-middleware (instrumentation) first, then the user's ``http_middleware`` list."""
    chain: list[Callable[..., object]] = []
    for attribute in ("_aiohttp_pre_middleware", "http_middleware"):
        value = getattr(service, attribute, None)
        if value:
            chain.extend(value)
    return chain


async def invoke_handler(
    service: object,
    handler: BoundHandler,
    request: object,
    *,
    groups: Mapping[str, str | None],
    middleware_kwargs: Mapping[str, object],
    fixed: Mapping[str, object] | None = None,
    positional: tuple[object, ...],
    observers: Sequence[Observer] = (),
    clock: Clock | None = None,
) -> object:
    """The handler's return value. ``middleware_kwargs`` travel through the middleware chain (which may override
    them); ``fixed`` values (e.g. the websocket) are injected into the handler only. ``observers`` (with the
    ``clock`` that times their records) are told about the call."""
    # logs inside the handler (``get_logger()`` without a name) carry the handler's name and kind
    with bind_handler_context("tomodachi.http.handler", handler=handler.name, type=f"tomodachi.{handler.spec.kind}"):
        return await _invoke(
            service, handler, request, groups, middleware_kwargs, fixed, positional, observers if clock else (), clock
        )


async def _invoke(
    service: object,
    handler: BoundHandler,
    request: object,
    groups: Mapping[str, str | None],
    middleware_kwargs: Mapping[str, object],
    fixed: Mapping[str, object] | None,
    positional: tuple[object, ...],
    observers: Sequence[Observer],
    clock: Clock | None,
) -> object:
    pre_handler = handler.spec.args.get("pre_handler_func")
    if pre_handler is not None:
        outcome = pre_handler(service, request)
        if inspect.isawaitable(outcome):
            await outcome

    async def call(**current: object) -> object:
        named = {**current, **fixed} if fixed else current
        args, kwargs = call_arguments(handler.func, groups=groups, named=named, positional=positional)
        if not observers or clock is None:
            result = handler.func(*args, **kwargs)
            return await result if inspect.isawaitable(result) else result
        name = str(getattr(service, "name", "service"))
        return await call_handler(
            handler.func,
            args,
            kwargs,
            observers=observers,
            clock=clock,
            service=name,
            handler=handler.name,
            transport=handler.spec.kind,
        )

    middlewares = service_middlewares(service)
    if not middlewares:
        return await call(**middleware_kwargs)
    # a fresh middleware_context dict per invocation, passed positionally after the request
    return await execute_middlewares(call, middlewares, service, (request, {}), middleware_kwargs)
