"""How a message handler's parameters are filled from a delivery's values: worked out once per handler."""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

NO_VALUES: Mapping[str, object] = {}  # a message that is no envelope dict offers no values (never written to)
REQUIRED, OPTIONAL, NONE = 0, 1, 2  # a parameter: None when not available / left out then / always None


@dataclass(frozen=True)
class CallPlan:
    """How a handler's parameters are filled from a delivery's values, worked out once per handler."""

    raw_first: tuple[str, bool] | None  # raw mode: the parameter that gets the body (name, positional-only)
    params: tuple[tuple[str, bool, int], ...]  # (name, positional-only, REQUIRED / OPTIONAL / NONE)
    var_keyword: bool  # **kwargs: every further available value

    @classmethod
    def of(cls, params: Sequence[inspect.Parameter], raw: bool, wanted: Sequence[str] | None) -> CallPlan:
        named = [p for p in params if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
        raw_first = None
        if raw and named:
            first = named[0]
            raw_first = (first.name, first.kind is first.POSITIONAL_ONLY)
            named = named[1:]
        plan: list[tuple[str, bool, int]] = []
        for param in named:
            if wanted is not None and param.name not in wanted:
                if param.default is param.empty:
                    plan.append((param.name, False, NONE))
                continue
            mode = OPTIONAL if param.default is not param.empty else REQUIRED
            plan.append((param.name, param.kind is param.POSITIONAL_ONLY, mode))
        return cls(raw_first, tuple(plan), any(p.kind is p.VAR_KEYWORD for p in params))

    def arguments(
        self,
        message: object,
        envelope_values: Mapping[str, object],
        current: Mapping[str, object],
        wanted: Sequence[str] | None,
    ) -> tuple[tuple[object, ...], dict[str, object]]:
        """The positional and keyword arguments of one call: a name is looked up in the delivery's values
        (``current``), then in the envelope's (the delivery's win)."""
        args: list[object] = []
        kwargs: dict[str, object] = {}
        if self.raw_first is not None:
            # raw mode: the first parameter always gets the body, whatever its name
            name, positional = self.raw_first
            raw = current.get("message", message)
            if positional:
                args.append(raw)
            else:
                kwargs[name] = raw
        for name, positional, mode in self.params:
            if mode == NONE:
                kwargs[name] = None
                continue
            if name in current:
                value = current[name]
            elif name in envelope_values:
                value = envelope_values[name]
            elif mode == OPTIONAL:
                continue
            else:
                value = None
            if positional:
                args.append(value)
            else:
                kwargs[name] = value
        if self.var_keyword:
            available = {**envelope_values, **current} if envelope_values else current
            for key, value in available.items():
                if key not in kwargs and (wanted is None or key in wanted):
                    kwargs[key] = value
        # a tuple: the empty one is shared, and a call record keeps what it was given
        return (tuple(args) if args else ()), kwargs
