"""Argument injection for http / http_error / websocket handlers, driven by the (bound) handler's signature."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from tomodachi.handlers import handler_parameters


class InjectionError(TypeError):
    """A required handler parameter has no value to inject (→ 500, with the parameter named in the log)."""


def call_arguments(
    func: Callable[..., Any],
    *,
    groups: Mapping[str, str | None],
    named: Mapping[str, Any],
    positional: tuple[Any, ...],
) -> tuple[list[Any], dict[str, Any]]:
    """Positional and keyword arguments for ``func``.

    ``groups`` (url regex groups) are injected by name only and never through ``**kwargs``; a group that did not
    participate in the match gives the parameter's default, else ``None``. ``named`` (request, status_code,
    values forwarded by middleware) is injected by name, and as a whole into ``**kwargs``. Required parameters
    still unfilled take, in order, the ``positional`` values not already injected by name.
    """
    params = handler_parameters(func)
    consumed_ids = {id(named[p.name]) for p in params if p.name in named and p.name not in groups}
    spare = [value for value in positional if id(value) not in consumed_ids]
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
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
        if param.name in groups:
            value = groups[param.name]
            if value is None:
                if has_default:
                    by_position = False
                    continue
        elif param.name in named:
            value = named[param.name]
        elif has_default:
            by_position = False
            continue
        elif spare:
            value = spare.pop(0)
        else:
            raise InjectionError(f"no value to inject for the required parameter {param.name!r}")
        if param.kind is param.POSITIONAL_ONLY:
            if not by_position:
                raise InjectionError(f"cannot pass positional-only parameter {param.name!r} after a skipped one")
            args.append(value)
        else:
            kwargs[param.name] = value
    if has_var_keyword:
        for key, value in named.items():
            kwargs.setdefault(key, value)
    return args, kwargs
