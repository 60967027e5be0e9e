"""Config files for ``tomodachi run -c``: JSON files merged in order, dicts deeply, lists concatenated."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeGuard

if TYPE_CHECKING:
    from tomodachi.options import OptionsInterface

from tomodachi.options.values import ConfigError


def _is_options(value: object) -> TypeGuard[OptionsInterface]:
    from tomodachi.options import OptionsInterface  # the options tree imports this module

    return isinstance(value, OptionsInterface)


# --- config files ----------------------------------------------------------------------------------------------


def merge_dicts(base: Mapping[str, object], overlay: Mapping[str, object]) -> dict[str, Any]:
    """Deep merge into a new dict: dicts merge recursively, lists concatenate, anything else is replaced."""
    result: dict[str, object] = {key: _fresh(value) for key, value in base.items()}
    for key, value in overlay.items():
        if key in result:
            result[key] = merge_config_value(result[key], value)
        else:
            result[key] = _fresh(value)
    return result


def _fresh(value: object) -> object:
    if isinstance(value, Mapping) and not _is_options(value):
        return {k: _fresh(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_fresh(v) for v in value]
    return value


def merge_config_value(current: object, new: object) -> object:
    """How a config value combines with an existing one: Options merge key by key (unlike upstream, which
    replaced them wholesale), dicts merge, lists concatenate, anything else is replaced."""
    if _is_options(current) and (isinstance(new, Mapping) or _is_options(new)):
        return current.merged(new)
    if isinstance(current, Mapping) and isinstance(new, Mapping) and not _is_options(new):
        return merge_dicts(current, new)
    if isinstance(current, list) and isinstance(new, list):
        return [_fresh(v) for v in current] + [_fresh(v) for v in new]
    return _fresh(new)


def load_config_files(paths: Iterable[str | os.PathLike[str]]) -> dict[str, Any]:
    """Read JSON object files and deep-merge them in order; ``ConfigError`` names the offending file."""
    result: dict[str, Any] = {}
    for raw in paths:
        path = os.fspath(raw)
        try:
            with open(path, encoding="utf-8") as fh:
                text = fh.read()
        except FileNotFoundError:
            raise ConfigError(path, f"config file not found: {path}") from None
        except IsADirectoryError:
            raise ConfigError(path, f"config file is a directory: {path}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(path, f"cannot read config file {path}: {exc}") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(
                path, f"invalid JSON in config file {path}: {exc.msg} (line {exc.lineno}, column {exc.colno})"
            ) from None
        if not isinstance(data, dict):
            raise ConfigError(path, f"config file {path} must contain a JSON object, got {type(data).__name__}")
        result = merge_dicts(result, data)
    return result
