"""The options reference table of docs/options.md, generated from the Options schema itself."""

from __future__ import annotations

from typing import Any

import tomodachi

# defaults that depend on the machine, written as the rule instead of this machine's value
DEFAULT_RULES = {"http.reuse_port": "`True` on Linux, else `False`"}


def _descriptor(key: str) -> Any:
    owner: Any = tomodachi.Options
    *sections, leaf = key.split(".")
    for section in sections:
        owner = vars(owner)[section].cls
    return vars(owner)[leaf]


def _type(option: Any) -> str:
    names = " or ".join(t.__name__ for t in option.types)
    if option.convert is not None and list in option.types:
        names = "list of str (or one str)"
    elif option.types == (int,) and option.convert is not None:
        names = 'int or size string (`"10M"`)'
    if option.bounds is not None:
        low, high = option.bounds
        names += f", ≥ {low:g}" if high == float("inf") else f", {low:g}–{high:g}"
    return f"{names} or None" if option.nullable else names


def _default(key: str, value: Any) -> str:
    if key in DEFAULT_RULES:
        return DEFAULT_RULES[key]
    return f"`{value!r}`"


def options_table() -> str:
    """One row per option: dotted key, accepted types, default."""
    rows = ["| option | type | default |", "|---|---|---|"]
    for key, value in tomodachi.Options().items():
        rows.append(f"| `{key}` | {_type(_descriptor(key))} | {_default(key, value)} |")
    return "\n".join(rows) + "\n"
