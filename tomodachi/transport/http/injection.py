"""Argument injection for http / http_error / websocket handlers, driven by the (bound) handler's signature."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from tomodachi.handlers import handler_parameters


class InjectionError(TypeError):
    """A required handler parameter has no value to inject (→ 500, with the parameter named in the log)."""


# how to fill one parameter: where its value comes from (and its key or index there), its name, and whether
# it is passed by position
_NAMED, _GROUP, _SPARE = 0, 1, 2
_Step = tuple[int, Any, str, bool]
_Plan = tuple[tuple[_Step, ...], bool]
_PLANS: dict[tuple[Any, ...], _Plan] = {}
_MAX_PLANS = 4096


def call_arguments(
    func: Callable[..., object],
    *,
    groups: Mapping[str, str | None],
    named: Mapping[str, object],
    positional: tuple[object, ...],
) -> tuple[list[object], dict[str, object]]:
    """Positional and keyword arguments for ``func``.

    ``groups`` (url regex groups) are injected by name only and never through ``**kwargs``; a group that did not
    participate in the match gives the parameter's default, else ``None``. ``named`` (request, status_code,
    values forwarded by middleware) is injected by name, and as a whole into ``**kwargs``. Required parameters
    still unfilled take, in order, the ``positional`` values not already injected by name.

    What goes where depends only on the signature and on which names, groups and values are given, so it is
    worked out once per such shape and replayed for every request.
    """
    owner = getattr(func, "__func__", func)  # never the bound method: a cached key must not keep its instance alive
    shape: tuple[Any, ...] = (
        owner,
        tuple(named),
        tuple([(key, value is None) for key, value in groups.items()]) if groups else (),
        _positional_shape(named, positional),
    )
    try:
        plan = _PLANS.get(shape)
    except TypeError:  # an unhashable callable object
        plan, shape = None, ()
    if plan is None:
        plan = _plan(func, groups, named, positional)
        if shape:
            if len(_PLANS) >= _MAX_PLANS:
                _PLANS.clear()
            _PLANS[shape] = plan
    steps, var_keyword = plan
    args: list[object] = []
    kwargs: dict[str, object] = {}
    for source, key, name, by_position in steps:
        value = named[key] if source == _NAMED else groups[key] if source == _GROUP else positional[key]
        if by_position:
            args.append(value)
        else:
            kwargs[name] = value
    if var_keyword:
        for key, value in named.items():
            kwargs.setdefault(key, value)
    return args, kwargs


def _positional_shape(named: Mapping[str, object], positional: tuple[object, ...]) -> tuple[tuple[str, ...], ...]:
    """For each positional value, the names it is also given under (the request is usually both)."""
    if len(positional) == 1 and len(named) == 1:  # one request, named once: the shape of every plain request
        (key, given), value = next(iter(named.items())), positional[0]
        return ((key,),) if given is value else ((),)
    return tuple([tuple([key for key, given in named.items() if given is value]) for value in positional])


def _plan(
    func: Callable[..., object],
    groups: Mapping[str, str | None],
    named: Mapping[str, object],
    positional: tuple[object, ...],
) -> _Plan:
    params = handler_parameters(func)
    consumed_ids = {id(named[p.name]) for p in params if p.name in named and p.name not in groups}
    spare = [index for index, value in enumerate(positional) if id(value) not in consumed_ids]
    steps: list[_Step] = []
    has_var_keyword = False
    by_position = True  # positional-only params must be passed positionally, before any keyword
    for param in params:
        if param.kind is param.VAR_KEYWORD:
            has_var_keyword = True
            continue
        if param.kind is param.VAR_POSITIONAL:
            by_position = False
            continue
        has_default = param.default is not inspect.Parameter.empty
        step: tuple[int, Any]
        if param.name in groups:
            if groups[param.name] is None and has_default:
                by_position = False
                continue
            step = (_GROUP, param.name)
        elif param.name in named:
            step = (_NAMED, param.name)
        elif has_default:
            by_position = False
            continue
        elif spare:
            step = (_SPARE, spare.pop(0))
        else:
            raise InjectionError(f"no value to inject for the required parameter {param.name!r}")
        if param.kind is param.POSITIONAL_ONLY:
            if not by_position:
                raise InjectionError(f"cannot pass positional-only parameter {param.name!r} after a skipped one")
            steps.append((*step, param.name, True))
        else:
            steps.append((*step, param.name, False))
    return tuple(steps), has_var_keyword
