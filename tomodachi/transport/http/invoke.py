"""Calls one http / http_error / websocket handler: pre_handler_func, the http_middleware chain, then injection."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping, Sequence

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


# the handler-context ``type`` of each handler kind, made once rather than per request
_HANDLER_TYPES = {kind: f"tomodachi.{kind}" for kind in ("http", "http_error", "websocket")}


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
    kind = handler.spec.kind
    # logs inside the handler (``get_logger()`` without a name) carry the handler's name and kind
    with bind_handler_context(
        "tomodachi.http.handler", handler=handler.name, type=_HANDLER_TYPES.get(kind) or f"tomodachi.{kind}"
    ):
        pre_handler = handler.spec.args.get("pre_handler_func")
        if pre_handler is not None:
            outcome = pre_handler(service, request)
            if inspect.isawaitable(outcome):
                await outcome
        call = _Call(service, handler, groups, fixed, positional, observers if clock else (), clock)
        middlewares = service_middlewares(service)
        if not middlewares:  # the common case: no chain, one coroutine less per request
            return await call.run(middleware_kwargs)
        # a fresh middleware_context dict per invocation, passed positionally after the request
        return await execute_middlewares(call, middlewares, service, (request, {}), middleware_kwargs)


class _Call:
    """The innermost step of the chain: inject what the chain passes on and call the handler."""

    __slots__ = ("service", "handler", "groups", "fixed", "positional", "observers", "clock")

    def __init__(
        self,
        service: object,
        handler: BoundHandler,
        groups: Mapping[str, str | None],
        fixed: Mapping[str, object] | None,
        positional: tuple[object, ...],
        observers: Sequence[Observer],
        clock: Clock | None,
    ) -> None:
        self.service = service
        self.handler = handler
        self.groups = groups
        self.fixed = fixed
        self.positional = positional
        self.observers = observers
        self.clock = clock

    def __call__(self, **current: object) -> Awaitable[object]:
        return self.run(current)

    async def run(self, current: Mapping[str, object]) -> object:
        handler = self.handler
        named = {**current, **self.fixed} if self.fixed else current
        args, kwargs = call_arguments(handler.func, groups=self.groups, named=named, positional=self.positional)
        if not self.observers or self.clock is None:
            result = handler.func(*args, **kwargs)
            return await result if inspect.isawaitable(result) else result
        return await call_handler(
            handler.func,
            args,
            kwargs,
            observers=self.observers,
            clock=self.clock,
            service=str(getattr(self.service, "name", "service")),
            handler=handler.name,
            transport=handler.spec.kind,
        )
