"""The options' key schema: canonical dotted keys, legacy aliases, typo suggestions and collecting assignments."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import TYPE_CHECKING

from tomodachi.options.values import (
    _CANONICAL,
    _CONDITIONAL,
    _FANOUT,
    _LEGACY,
    InvalidOptionError,
    Path,
    UnknownOptionError,
    _Assign,
    _dotted,
    _Section,
    _short_repr,
)

if TYPE_CHECKING:
    from tomodachi.options import OptionsInterface


# --- key schema: canonical keys, legacy aliases, suggestions ------------------------------------------------------


class _Legacy:
    """A legacy key and the canonical keys it sets (plain class: see ``_Assign``)."""

    __slots__ = ("targets", "priority", "only_if_unset")

    def __init__(self, targets: tuple[Path, ...], priority: int, only_if_unset: bool = False) -> None:
        self.targets = targets
        self.priority = priority
        self.only_if_unset = only_if_unset


class _Schema:
    """Every known key, built once on first use (plain class: see ``_Assign``)."""

    __slots__ = ("leaves", "sections", "containers", "legacy", "known")

    def __init__(
        self,
        leaves: frozenset[Path],
        sections: dict[Path, type[OptionsInterface]],
        containers: frozenset[Path],
        legacy: dict[Path, _Legacy],
        known: tuple[str, ...],
    ) -> None:
        self.leaves = leaves
        self.sections = sections
        self.containers = containers
        self.legacy = legacy
        self.known = known


def _aws_short_names() -> dict[str, tuple[str, ...]]:
    """Short/legacy names accepted under ``aws.`` and ``aws_sns_sqs.`` and the canonical keys they set."""
    names: dict[str, tuple[str, ...]] = {}
    for name in ("topic_prefix", "queue_name_prefix", "queue_policy", "wildcard_queue_policy"):
        names[name] = (f"aws_sns_sqs.{name}",)
    names["region_name"] = names["aws_region_name"] = ("aws_sns_sqs.region_name",)
    for name in ("access_key_id", "secret_access_key"):
        names[name] = names[f"aws_{name}"] = (f"aws_sns_sqs.aws_{name}",)
    services = ("sns", "sqs", "sts")
    names["endpoint_url"] = names["aws_endpoint_url"] = tuple(f"aws_endpoint_urls.{s}" for s in services)
    for s in services:
        names[f"{s}_endpoint_url"] = names[f"aws_{s}_endpoint_url"] = (f"aws_endpoint_urls.{s}",)
        names[f"endpoint_urls.{s}"] = (f"aws_endpoint_urls.{s}",)
    both_keys = ("aws_sns_sqs.sns_kms_master_key_id", "aws_sns_sqs.sqs_kms_master_key_id")
    names["kms_master_key_id"] = names["aws_kms_master_key_id"] = both_keys
    for s in ("sns", "sqs"):
        names[f"{s}_kms_master_key_id"] = names[f"aws_{s}_kms_master_key_id"] = (f"aws_sns_sqs.{s}_kms_master_key_id",)
    for name in ("kms_data_key_reuse_period", "aws_kms_data_key_reuse_period", "aws_sqs_kms_data_key_reuse_period"):
        names[name] = ("aws_sns_sqs.sqs_kms_data_key_reuse_period",)
    names["sqs_kms_data_key_reuse_period"] = ("aws_sns_sqs.sqs_kms_data_key_reuse_period",)
    return names


@functools.cache
def _schema() -> _Schema:
    leaves: set[Path] = set()
    sections: dict[Path, type[OptionsInterface]] = {}

    def walk(cls: type[OptionsInterface]) -> None:
        sections[cls._PATH] = cls
        for name, member in cls._MEMBERS.items():
            if isinstance(member, _Section):
                walk(member.cls)
            else:
                leaves.add((*cls._PATH, name))

    from tomodachi.options import Options  # the tree this schema describes (it imports this module)

    walk(Options)
    legacy: dict[Path, _Legacy] = {}
    for prefix in ("aws", "aws_sns_sqs"):
        for short, targets in _aws_short_names().items():
            path = (prefix, *short.split("."))
            if path not in leaves:
                target_paths = tuple(tuple(t.split(".")) for t in targets)
                legacy[path] = _Legacy(target_paths, _FANOUT if len(target_paths) > 1 else _LEGACY)
    legacy[("http", "max_buffer_size")] = _Legacy((("http", "client_max_size"),), _LEGACY)
    legacy[("http", "max_upload_size")] = _Legacy((("http", "client_max_size"),), _LEGACY)
    # keepalive_expiry is only used when keepalive_timeout is 0.
    legacy[("http", "keepalive_expiry")] = _Legacy((("http", "keepalive_timeout"),), _CONDITIONAL, True)
    containers = frozenset(sections) | {("aws",), ("aws", "endpoint_urls"), ("aws_sns_sqs", "endpoint_urls")}
    known = tuple(sorted(_dotted(p) for p in (leaves | set(sections) | set(legacy)) if p))
    return _Schema(frozenset(leaves), sections, containers, legacy, known)


def _suggest(key: str) -> str | None:
    import difflib  # only on a misspelt option

    known = _schema().known
    matches = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    if matches:
        return matches[0]
    # Fall back to comparing only the last part among siblings, e.g. "amqp.hostname" -> "amqp.host".
    head, _, last = key.rpartition(".")
    siblings = {k.rpartition(".")[2]: k for k in known if k.rpartition(".")[0] == head}
    close = difflib.get_close_matches(last, list(siblings), n=1, cutoff=0.6)
    return siblings[close[0]] if close else None


def _collect(path: Path, value: object, out: list[_Assign] | None = None) -> list[_Assign]:
    """Turn nested and/or dotted input (or an options instance) at ``path`` into canonical assignments."""
    out = [] if out is None else out
    schema = _schema()
    from tomodachi.options import OptionsInterface

    if isinstance(value, OptionsInterface):
        if value._PATH != path:
            raise InvalidOptionError(
                _dotted(path),
                f"option {_dotted(path)!r} cannot be set from {type(value).__qualname__} "
                f"(the {_dotted(value._PATH) or 'root'!r} section)",
            )
        out.extend(_Assign((*path, *rel), leaf, None, _CANONICAL, False) for rel, leaf in value._flat())
        out.extend(value._deferred)
        return out
    if path in schema.containers:
        if not isinstance(value, Mapping):
            kind = f" or {schema.sections[path].__qualname__}" if path in schema.sections else ""
            raise InvalidOptionError(
                _dotted(path),
                f"invalid value for option {_dotted(path)!r}: expected a mapping{kind}, "
                f"got {type(value).__name__} {_short_repr(value)}",
            )
        for key, item in value.items():
            if not isinstance(key, str) or not key or "" in key.split("."):
                raise InvalidOptionError(_dotted(path), f"invalid option key {key!r} in {_dotted(path) or 'options'!r}")
            _collect((*path, *key.split(".")), item, out)
        return out
    key = _dotted(path)
    if path in schema.leaves:
        out.append(_Assign(path, value, key, _CANONICAL, False))
        return out
    legacy = schema.legacy.get(path)
    if legacy is None:
        raise UnknownOptionError(key, _suggest(key))
    out.extend(_Assign(target, value, key, legacy.priority, legacy.only_if_unset) for target in legacy.targets)
    return out
