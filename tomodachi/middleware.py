"""Runs a chain of user middleware (http_middleware / message_middleware) around a handler call."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from tomodachi.handlers import handler_parameters

Handler = Callable[..., Awaitable[Any]]


def _positional_count(func: Callable[..., Any]) -> int:
    count = 0
    for param in handler_parameters(func):
        if param.kind in (param.POSITIONAL_ONLY, param.POSITIONAL_OR_KEYWORD) and param.default is param.empty:
            count += 1
        elif param.kind is param.VAR_POSITIONAL:
            return 1_000
    return count


def _keyword_arguments(func: Callable[..., Any], skip: set[str], values: Mapping[str, Any]) -> dict[str, Any]:
    params = handler_parameters(func)
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return {k: v for k, v in values.items() if k not in skip}
    return {
        p.name: values[p.name]
        for p in params
        if p.name in values and p.name not in skip and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    }


async def execute_middlewares(
    handler: Handler,
    middlewares: Sequence[Callable[..., Any]],
    service: Any,
    positional: tuple[Any, ...],
    kwargs: Mapping[str, Any],
) -> Any:
    """Call ``middlewares[0]`` (outermost) ... ``middlewares[-1]`` and finally ``handler(**kwargs)``.

    Each middleware gets positionally a prefix of ``(next, service, *positional)`` — as many values as it
    declares positional parameters without defaults — and by keyword those of ``kwargs`` it declares (all of
    them if it takes ``**kwargs``). ``await next(**overrides)`` continues the chain with updated kwargs and
    returns the handler's result.
    """

    async def call(index: int, current: Mapping[str, Any]) -> Any:
        if index >= len(middlewares):
            return await handler(**current)
        middleware = middlewares[index]

        async def next_(**overrides: Any) -> Any:
            return await call(index + 1, {**current, **overrides})

        values = (next_, service, *positional)
        count = min(_positional_count(middleware), len(values))
        params = handler_parameters(middleware)
        consumed = {p.name for p in params[:count] if p.kind is not p.VAR_POSITIONAL}
        result = middleware(*values[:count], **_keyword_arguments(middleware, consumed, current))
        if inspect.isawaitable(result):
            result = await result
        return result

    return await call(0, kwargs)
