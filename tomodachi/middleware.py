"""Runs a chain of user middleware (http_middleware / message_middleware) around a handler call."""

from __future__ import annotations

import inspect
import weakref
from collections.abc import Awaitable, Callable, Mapping, Sequence
from types import MethodType
from typing import Any

from tomodachi.handlers import handler_parameters

Handler = Callable[..., Awaitable[object]]

_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
_BY_NAME = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


class _Plan:
    """How one middleware is called, read from its signature once: how many of the positional values it takes,
    and which keyword values (all of them with ``**kwargs``)."""

    __slots__ = ("positional", "params", "var_keyword", "_by_count")

    def __init__(self, params: tuple[inspect.Parameter, ...]) -> None:
        self.params = params
        count = 0
        for param in self.params:
            if param.kind in _POSITIONAL and param.default is param.empty:
                count += 1
            elif param.kind is param.VAR_POSITIONAL:
                count = 1_000
                break
        self.positional = count
        self.var_keyword = any(p.kind is p.VAR_KEYWORD for p in self.params)
        self._by_count: dict[int, tuple[frozenset[str], tuple[str, ...]]] = {}

    def names(self, count: int) -> tuple[frozenset[str], tuple[str, ...]]:
        """For ``count`` values given positionally: their parameter names, and the names taken by keyword."""
        found = self._by_count.get(count)
        if found is None:
            consumed = frozenset(p.name for p in self.params[:count] if p.kind is not p.VAR_POSITIONAL)
            keywords = tuple(p.name for p in self.params if p.name not in consumed and p.kind in _BY_NAME)
            found = self._by_count[count] = (consumed, keywords)
        return found


# plans by function (a bound method's by its class function, so no plan keeps a service or middleware instance alive)
_plans: weakref.WeakKeyDictionary[Callable[..., Any], _Plan] = weakref.WeakKeyDictionary()


def _declared(middleware: Callable[..., object]) -> Callable[..., object]:
    """The function whose signature says what a middleware takes. A plain function made with ``functools.wraps``
    (a generator turned into a context manager, a logging wrapper) forwards what it gets to the function it wraps,
    so that one's parameters decide, as they did upstream."""
    if inspect.isfunction(middleware) and inspect.isfunction(getattr(middleware, "__wrapped__", None)):
        unwrapped: Callable[..., object] = inspect.unwrap(middleware)
        return unwrapped
    return middleware


def _plan(middleware: Callable[..., object]) -> _Plan:
    middleware = _declared(middleware)
    if inspect.ismethod(middleware):
        key: object = middleware.__func__
    elif inspect.isfunction(middleware):
        key = middleware
    else:  # a callable object: its class's __call__ says how it is called, for every instance
        key = type(middleware).__call__
    if not inspect.isfunction(key):
        return _Plan(handler_parameters(middleware))  # partials, builtins: their signature is their own
    plan = _plans.get(key)
    if plan is None:
        if key is middleware or inspect.ismethod(middleware):
            params = handler_parameters(middleware)
        else:  # the class's __call__ without its ``self``
            params = handler_parameters(key)[1:]
        plan = _plans[key] = _Plan(params)
    return plan


# plans of whole chains, by the ids of what decides each middleware's plan (see _chain_plans); a few per service
_chains: dict[tuple[int, ...], tuple[tuple[_Plan, ...], tuple[weakref.ref[object], ...]]] = {}
_CHAIN_LIMIT = 256


def _chain_plans(middlewares: Sequence[Callable[..., object]]) -> tuple[_Plan, ...]:
    """The plans of a chain; a chain seen before costs one lookup. The list is new per call and a bound method
    may be new per attribute access, so a chain is known by the ids of each middleware's function (a bound
    method's plan never depends on its instance) or else of the middleware itself. An entry holds those only weakly, and goes when
    one of them does: so no service is kept alive, and no id in a key can have been reused by another object."""
    anchors: list[object] = [m.__func__ if type(m) is MethodType else m for m in middlewares]
    key = tuple([id(anchor) for anchor in anchors])
    found = _chains.get(key)
    if found is not None:
        return found[0]
    plans = tuple([_plan(middleware) for middleware in middlewares])
    chains = _chains  # bound here: the callbacks may run while the interpreter tears the module down

    def forget(_: weakref.ref[object]) -> None:
        chains.pop(key, None)

    try:
        refs = tuple([weakref.ref(anchor, forget) for anchor in anchors])
    except TypeError:  # no weak reference to it (a builtin, say): not kept, as its id could be reused unseen
        return plans
    if len(_chains) >= _CHAIN_LIMIT:
        _chains.pop(next(iter(_chains)), None)
    _chains[key] = (plans, refs)
    return plans


async def execute_middlewares(
    handler: Handler,
    middlewares: Sequence[Callable[..., object]],
    service: object,
    positional: tuple[object, ...],
    kwargs: Mapping[str, object],
) -> object:
    """Call ``middlewares[0]`` (outermost) ... ``middlewares[-1]`` and finally ``handler(**kwargs)``.

    Each middleware gets positionally a prefix of ``(next, service, *positional)`` — as many values as it
    declares positional parameters without defaults — and by keyword those of ``kwargs`` it declares (all of
    them if it takes ``**kwargs``). ``await next(**overrides)`` continues the chain with updated kwargs and
    returns the handler's result.
    """
    plans = _chain_plans(middlewares)
    given = (service, *positional)

    async def call(index: int, current: Mapping[str, object]) -> object:
        if index >= len(middlewares):
            return await handler(**current)
        plan = plans[index]

        async def next_(**overrides: object) -> object:
            return await call(index + 1, {**current, **overrides} if overrides else current)

        count = min(plan.positional, len(given) + 1)
        consumed, keywords = plan.names(count)
        if plan.var_keyword:
            named = {key: value for key, value in current.items() if key not in consumed}
        else:
            named = {name: current[name] for name in keywords if name in current}
        result = middlewares[index](*(next_, *given)[:count], **named)
        if inspect.isawaitable(result):
            result = await result
        return result

    return await call(0, kwargs)
