"""Service options (spec §5): a typed tree with defaults, dotted keys, legacy key mapping and validation.

Also holds the JSON config-file loader used by ``tomodachi run -c``, which merges files in order.
"""

from __future__ import annotations

import copy
import functools
import json
import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, ClassVar, Generic, TypeVar, cast, overload

__all__ = [
    "ConfigError",
    "InvalidOptionError",
    "Options",
    "OptionsError",
    "OptionsInterface",
    "UnknownOptionError",
    "load_config_files",
    "merge_config_value",
    "merge_dicts",
    "parse_size",
]

Path = tuple[str, ...]

_T = TypeVar("_T")
_S = TypeVar("_S", bound="OptionsInterface")


class OptionsError(ValueError):
    """Base class of every options problem; ``key`` is the dotted option key concerned."""

    key: str


class UnknownOptionError(OptionsError, AttributeError):
    """An option key that does not exist (an ``AttributeError``, as the spec requires)."""

    def __init__(self, key: str, suggestion: str | None = None) -> None:
        hint = f"; did you mean {suggestion!r}?" if suggestion else ""
        super().__init__(f"unknown option {key!r}{hint}")
        self.key = key
        self.suggestion = suggestion


class InvalidOptionError(OptionsError, TypeError):
    """An option given a value of the wrong type or outside its allowed range."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


class ConfigError(ValueError):
    """A config file that is missing, unreadable or not a JSON object; names the file."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(message)
        self.path = path


def _dotted(path: Path) -> str:
    return ".".join(path)


def _short_repr(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


# options whose values never appear in a repr or an error message (logs are read by more people than secrets are)
SECRET_OPTIONS = frozenset({"amqp.password", "aws_sns_sqs.aws_secret_access_key"})
HIDDEN = "'***'"


def _invalid(key: str, given_as: str | None, expected: str, value: Any) -> InvalidOptionError:
    alias = f" (given as {given_as!r})" if given_as and given_as != key else ""
    shown = "(value hidden)" if key in SECRET_OPTIONS else _short_repr(value)
    return InvalidOptionError(
        key, f"invalid value for option {key!r}{alias}: expected {expected}, got {type(value).__name__} {shown}"
    )


# --- value converters --------------------------------------------------------------------------------------------

_SIZE_UNITS = {"": 1, "B": 1, "K": 1024, "KB": 1024, "M": 1024**2, "MB": 1024**2, "G": 1024**3, "GB": 1024**3}
_SIZE_RE = re.compile(r"^\s*(\d+)\s*([KMG]?B?)\s*$", re.IGNORECASE)
_MIN_CLIENT_MAX_SIZE = 1024
_MAX_CLIENT_MAX_SIZE = 1024**3


def parse_size(value: int | str) -> int:
    """Bytes from an int or a str like ``"100M"`` / ``"512 KB"`` (binary units); ``ValueError`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f"expected int or str size, got {type(value).__name__}")
    if isinstance(value, int):
        return value
    match = _SIZE_RE.match(value)
    if not match:
        raise ValueError(f"invalid size {value!r}; use an int or a number with a B/K/KB/M/MB/G/GB suffix")
    return int(match.group(1)) * _SIZE_UNITS[match.group(2).upper()]


def _client_max_size(key: str, value: Any, given_as: str | None) -> int:
    try:
        size = parse_size(value)
    except ValueError:
        raise _invalid(key, given_as, "int or str with B/K/KB/M/MB/G/GB suffix (e.g. '100M')", value) from None
    if not _MIN_CLIENT_MAX_SIZE <= size <= _MAX_CLIENT_MAX_SIZE:
        raise InvalidOptionError(
            key, f"invalid value for option {key!r}: {size} bytes is outside the allowed range 1024 bytes .. 1 GiB"
        )
    return size


def _str_list(key: str, value: Any, given_as: str | None) -> list[str]:
    # A lone string is taken as a one-element list; the result is always a fresh list (no shared mutable state).
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)) and all(isinstance(item, str) for item in value):
        return list(value)
    raise _invalid(key, given_as, "list of str", value)


_UNBOUNDED = float("inf")
_PORT = (0, 65535)
_NOT_NEGATIVE = (0, _UNBOUNDED)


class _Option(Generic[_T]):
    """Descriptor for one leaf option: default, accepted types and validation on every assignment."""

    def __init__(
        self,
        default: Any,
        *types: type,
        nullable: bool = False,
        factory: Callable[[], Any] | None = None,
        convert: Callable[[str, Any, str | None], Any] | None = None,
        bounds: tuple[float, float] | None = None,
    ) -> None:
        self.name = ""
        self._default = default
        self.types = types
        self.nullable = nullable
        self.factory = factory
        self.convert = convert
        self.bounds = bounds  # inclusive range of a number

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> _Option[_T]: ...

    @overload
    def __get__(self, obj: OptionsInterface, owner: type | None = None) -> _T: ...

    def __get__(self, obj: OptionsInterface | None, owner: type | None = None) -> _T | _Option[_T]:
        if obj is None:
            return self
        value: _T = obj._values[self.name]
        return value

    def __set__(self, obj: OptionsInterface, value: Any) -> None:
        obj._apply([_Assign(obj._PATH + (self.name,), value, None, _CANONICAL, False)], defer=False)

    def default(self) -> Any:
        return self.factory() if self.factory is not None else self._default

    @property
    def expected(self) -> str:
        names = " or ".join(t.__name__ for t in self.types)
        return f"{names} or None" if self.nullable else names

    def check(self, key: str, value: Any, given_as: str | None) -> Any:
        if value is None and self.nullable:
            return None
        if self.convert is not None:
            return self.convert(key, value, given_as)
        # bool is an int subclass; True is never a valid port or count.
        if value is None or (isinstance(value, bool) and bool not in self.types) or not isinstance(value, self.types):
            raise _invalid(key, given_as, self.expected, value)
        if self.bounds is not None and not self.bounds[0] <= cast(float, value) <= self.bounds[1]:
            low, high = self.bounds
            allowed = f"at least {low:g}" if high == _UNBOUNDED else f"from {low:g} to {high:g}"
            raise InvalidOptionError(key, f"invalid value for option {key!r}: {value!r} is not {allowed}")
        return value


class _Section(Generic[_S]):
    """Descriptor for a nested section; assigning a mapping or an instance replaces the section."""

    def __init__(self, cls: type[_S]) -> None:
        self.cls = cls
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> _Section[_S]: ...

    @overload
    def __get__(self, obj: OptionsInterface, owner: type | None = None) -> _S: ...

    def __get__(self, obj: OptionsInterface | None, owner: type | None = None) -> _S | _Section[_S]:
        if obj is None:
            return self
        value: _S = obj._values[self.name]
        return value

    def __set__(self, obj: OptionsInterface, value: Any) -> None:
        obj._replace_section(self.name, value)


# Assignment priorities: fan-out legacy keys first, then specific legacy keys, then canonical keys, so the most
# specific spelling wins whatever order the user wrote them in. Conditional ones (keepalive_expiry) come last.
_FANOUT, _LEGACY, _CANONICAL, _CONDITIONAL = 0, 1, 2, 3


class _Assign:
    """One option assignment. A plain class, not a dataclass: building dataclasses costs startup time."""

    __slots__ = ("target", "value", "given_as", "priority", "only_if_unset")

    def __init__(self, target: Path, value: Any, given_as: str | None, priority: int, only_if_unset: bool) -> None:
        self.target = target
        self.value = value
        self.given_as = given_as
        self.priority = priority
        self.only_if_unset = only_if_unset


class OptionsInterface:
    """Base of ``Options`` and its sections: attribute and dotted-key access, flattening, copy and merge."""

    _PATH: ClassVar[Path] = ()
    _MEMBERS: ClassVar[dict[str, _Option[Any] | _Section[Any]]] = {}
    _values: dict[str, Any]
    _deferred: list[_Assign]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        members: dict[str, _Option[Any] | _Section[Any]] = {}
        for klass in reversed(cls.__mro__):
            members.update({k: v for k, v in vars(klass).items() if isinstance(v, (_Option, _Section))})
        cls._MEMBERS = members

    def __init__(self, **kwargs: Any) -> None:
        object.__setattr__(self, "_values", {})
        # Legacy keys given to a section that belong elsewhere (e.g. aws_sns_sqs.endpoint_url); applied by the
        # parent when this section is attached to an Options tree.
        object.__setattr__(self, "_deferred", [])
        for name, member in self._MEMBERS.items():
            self._values[name] = member.default() if isinstance(member, _Option) else member.cls()
        if kwargs:
            self._apply(_collect(self._PATH, kwargs), defer=True)

    # --- internals -----------------------------------------------------------------------------------------------

    def _node(self, rel: Path) -> OptionsInterface:
        node: OptionsInterface = self
        for part in rel:
            node = node._values[part]
        return node

    def _apply(self, assigns: list[_Assign], *, defer: bool) -> None:
        depth = len(self._PATH)
        for assign in sorted(assigns, key=lambda a: a.priority):
            if assign.target[:depth] != self._PATH:
                if defer:
                    self._deferred.append(assign)
                    continue
                raise InvalidOptionError(
                    _dotted(assign.target),
                    f"option {assign.given_as or _dotted(assign.target)!r} sets {_dotted(assign.target)!r}, which is "
                    f"outside the {_dotted(self._PATH)!r} section; set it on the Options object instead",
                )
            rel = assign.target[depth:]
            node = self._node(rel[:-1])
            name = rel[-1]
            member = node._MEMBERS[name]
            assert isinstance(member, _Option)
            value = member.check(_dotted(assign.target), assign.value, assign.given_as)
            if assign.only_if_unset and node._values[name]:
                continue
            node._values[name] = value

    def _replace_section(self, name: str, value: Any) -> None:
        member = self._MEMBERS[name]
        assert isinstance(member, _Section)
        fresh = member.cls()
        fresh._apply(_collect(fresh._PATH, value), defer=True)
        leftovers, fresh._deferred[:] = list(fresh._deferred), []
        self._apply(leftovers, defer=False)
        self._values[name] = fresh

    def _flat(self) -> Iterator[tuple[Path, Any]]:
        for name, member in self._MEMBERS.items():
            value = self._values[name]
            if isinstance(member, _Section):
                for rel, leaf in value._flat():
                    yield (name, *rel), leaf
            else:
                yield (name,), list(value) if isinstance(value, list) else value

    def _adopt(self, other: OptionsInterface) -> None:
        # Copy values into the existing objects so references to sections stay live after update().
        for name, member in self._MEMBERS.items():
            if isinstance(member, _Section):
                self._values[name]._adopt(other._values[name])
            else:
                self._values[name] = other._values[name]
        self._deferred[:] = other._deferred

    # --- attribute access ------------------------------------------------------------------------------------------

    def __getattr__(self, name: str) -> Any:
        # Only reached when normal lookup fails: legacy aliases (e.g. http.max_buffer_size) or unknown names.
        if name.startswith("_"):
            raise AttributeError(name)
        return self[name]

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_") or name in self._MEMBERS:
            object.__setattr__(self, name, value)
            return
        self[name] = value

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(self._MEMBERS))

    # --- mapping-like access ---------------------------------------------------------------------------------------

    def __getitem__(self, key: str) -> Any:
        path = self._PATH + tuple(key.split("."))
        schema = _schema()
        if path in schema.sections or path in schema.leaves:
            return self._node(path[len(self._PATH) : -1])._values[path[-1]] if path != self._PATH else self
        legacy = schema.legacy.get(path)
        if legacy is not None and legacy.targets[0][: len(self._PATH)] == self._PATH:
            target = legacy.targets[0]
            return self._node(target[len(self._PATH) : -1])._values[target[-1]]
        raise UnknownOptionError(_dotted(path), _suggest(_dotted(path)))

    def __setitem__(self, key: str, value: Any) -> None:
        path = self._PATH + tuple(key.split("."))
        if path in _schema().sections and len(path) > len(self._PATH):
            parent = self._node(path[len(self._PATH) : -1])
            parent._replace_section(path[-1], value)
            return
        self._apply(_collect(self._PATH, {key: value}), defer=False)

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        try:
            self[key]
        except UnknownOptionError:
            return False
        return True

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def get(self, key: str, default: Any = None) -> Any:
        """The value of a (dotted) key, or ``default`` when no such option exists."""
        try:
            return self[key]
        except UnknownOptionError:
            return default

    def keys(self) -> list[str]:
        """Public member names of this level (sections and options); private names are never included."""
        return list(self._MEMBERS)

    def values(self) -> list[Any]:
        return [self._values[name] for name in self._MEMBERS]

    def items(self) -> list[tuple[str, Any]]:
        """Every leaf option as ``(dotted key, value)``, relative to this section."""
        return [(_dotted(rel), value) for rel, value in self._flat()]

    def asdict(self) -> dict[str, Any]:
        """Every leaf option as a flat ``{dotted key: value}`` dict (lists copied)."""
        return dict(self.items())

    # --- copies and merging ----------------------------------------------------------------------------------------

    def copy(self: _S) -> _S:
        """An independent deep copy (values were checked when set: they are copied, not checked again)."""
        new = object.__new__(type(self))
        object.__setattr__(new, "_values", {})
        object.__setattr__(new, "_deferred", list(self._deferred))
        for name, member in self._MEMBERS.items():
            value = self._values[name]
            if isinstance(member, _Section):
                new._values[name] = value.copy()
            else:
                new._values[name] = copy.copy(value) if isinstance(value, (list, dict, set)) else value
        return new

    def __copy__(self: _S) -> _S:
        return self.copy()

    def __deepcopy__(self: _S, memo: dict[int, Any]) -> _S:
        return self.copy()

    def merged(self: _S, overrides: Mapping[str, Any] | OptionsInterface) -> _S:
        """A new object: ``overrides`` (nested and/or dotted, legacy keys allowed) applied key by key over self."""
        new = self.copy()
        new._apply(_collect(self._PATH, overrides), defer=False)
        return new

    def update(self, overrides: Mapping[str, Any] | OptionsInterface) -> None:
        """In-place ``merged``: all-or-nothing, nothing changes when a key is invalid."""
        self._adopt(self.merged(overrides))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, OptionsInterface) or other._PATH != self._PATH:
            return NotImplemented
        return self.asdict() == other.asdict()

    __hash__ = None  # type: ignore[assignment]  # mutable

    def _repr_lines(self, indent: str) -> list[str]:
        lines = [f"{type(self).__qualname__}("]
        inner = indent + "    "
        for name, member in self._MEMBERS.items():
            value = self._values[name]
            if isinstance(member, _Section):
                sub = value._repr_lines(inner)
                lines.append(f"{inner}{name}={sub[0]}")
                lines.extend(sub[1:-1])
                lines.append(f"{sub[-1]},")
            else:
                secret = ".".join((*self._PATH, name)) in SECRET_OPTIONS and value
                lines.append(f"{inner}{name}={HIDDEN if secret else repr(value)},")
        lines.append(f"{indent})")
        return lines

    def __repr__(self) -> str:
        return "\n".join(self._repr_lines(""))


def _reuse_port_default() -> bool:
    return sys.platform.startswith("linux")


class Options(OptionsInterface):
    """Options of a service. Sections: ``http``, ``aws_sns_sqs``, ``aws_endpoint_urls``, ``amqp``, ``watcher``."""

    class HTTP(OptionsInterface):
        _PATH = ("http",)
        port: _Option[int | None] = _Option(9700, int, nullable=True, bounds=_PORT)
        host: _Option[str | None] = _Option("0.0.0.0", str, nullable=True)
        reuse_port: _Option[bool] = _Option(None, bool, factory=_reuse_port_default)
        content_type: _Option[str] = _Option("text/plain; charset=utf-8", str)
        charset: _Option[str] = _Option("utf-8", str)
        client_max_size: _Option[int] = _Option(104857600, int, convert=_client_max_size)
        termination_grace_period_seconds: _Option[int | float] = _Option(30, int, float, bounds=_NOT_NEGATIVE)
        access_log: _Option[bool | str] = _Option(True, bool, str)
        real_ip_from: _Option[list[str]] = _Option(None, list, factory=list, convert=_str_list)
        real_ip_header: _Option[str] = _Option("X-Forwarded-For", str)
        keepalive_timeout: _Option[int | float] = _Option(0, int, float, bounds=_NOT_NEGATIVE)
        max_keepalive_time: _Option[int | float | None] = _Option(None, int, float, nullable=True, bounds=_NOT_NEGATIVE)
        max_keepalive_requests: _Option[int | None] = _Option(None, int, nullable=True, bounds=_NOT_NEGATIVE)
        server_header: _Option[str | None] = _Option("tomodachi", str, nullable=True)
        # aiohttp's own default; a websocket message may otherwise be as large as a whole request body
        websocket_max_message_size: _Option[int] = _Option(4 * 1024 * 1024, int, convert=_client_max_size)
        # seconds between pings; a peer that does not answer within half of it is disconnected (None: no pings)
        websocket_heartbeat: _Option[int | float | None] = _Option(30, int, float, nullable=True, bounds=_NOT_NEGATIVE)
        # seconds a client has to send a request's whole header block, counted from the connection's first byte
        # or from the previous response (None: no limit); a client that does not is answered 408 and disconnected
        header_timeout: _Option[int | float | None] = _Option(30, int, float, nullable=True, bounds=_NOT_NEGATIVE)
        # seconds a request body may go without a byte arriving while the handler reads it (None: no limit)
        read_timeout: _Option[int | float | None] = _Option(60, int, float, nullable=True, bounds=_NOT_NEGATIVE)

    class AWSSNSSQS(OptionsInterface):
        _PATH = ("aws_sns_sqs",)
        region_name: _Option[str | None] = _Option(None, str, nullable=True)
        aws_access_key_id: _Option[str | None] = _Option(None, str, nullable=True)
        aws_secret_access_key: _Option[str | None] = _Option(None, str, nullable=True)
        topic_prefix: _Option[str] = _Option("", str)
        queue_name_prefix: _Option[str] = _Option("", str)
        # "" or False disables encryption; None leaves the queue/topic setting untouched.
        sns_kms_master_key_id: _Option[str | bool | None] = _Option(None, str, bool, nullable=True)
        sqs_kms_master_key_id: _Option[str | bool | None] = _Option(None, str, bool, nullable=True)
        # SQS accepts 60 seconds to 24 hours
        sqs_kms_data_key_reuse_period: _Option[int | None] = _Option(None, int, nullable=True, bounds=(60, 86400))
        queue_policy: _Option[str | None] = _Option(None, str, nullable=True)
        wildcard_queue_policy: _Option[str | None] = _Option(None, str, nullable=True)

    class AWSEndpointURLs(OptionsInterface):
        _PATH = ("aws_endpoint_urls",)
        sns: _Option[str | None] = _Option(None, str, nullable=True)
        sqs: _Option[str | None] = _Option(None, str, nullable=True)
        sts: _Option[str | None] = _Option(None, str, nullable=True)

    class AMQP(OptionsInterface):
        class QOS(OptionsInterface):
            _PATH = ("amqp", "qos")
            queue_prefetch_count: _Option[int] = _Option(100, int, bounds=(0, 65535))
            global_prefetch_count: _Option[int] = _Option(400, int, bounds=(0, 65535))

        _PATH = ("amqp",)
        host: _Option[str] = _Option("127.0.0.1", str)
        port: _Option[int] = _Option(5672, int, bounds=_PORT)
        login: _Option[str] = _Option("guest", str)
        password: _Option[str] = _Option("guest", str)
        exchange_name: _Option[str] = _Option("amq.topic", str)
        routing_key_prefix: _Option[str] = _Option("", str)
        queue_name_prefix: _Option[str] = _Option("", str)
        virtualhost: _Option[str] = _Option("/", str)
        ssl: _Option[bool] = _Option(False, bool)
        heartbeat: _Option[int] = _Option(60, int, bounds=(0, 65535))
        queue_ttl: _Option[int] = _Option(86400, int, bounds=_NOT_NEGATIVE)
        # True: amqp_publish returns once RabbitMQ has confirmed the message; False: once it is written (upstream)
        publisher_confirms: _Option[bool] = _Option(True, bool)
        qos: _Section[Options.AMQP.QOS] = _Section(QOS)

    class Watcher(OptionsInterface):
        _PATH = ("watcher",)
        ignored_dirs: _Option[list[str]] = _Option(None, list, factory=list, convert=_str_list)
        watched_file_endings: _Option[list[str]] = _Option(None, list, factory=list, convert=_str_list)

    http: _Section[Options.HTTP] = _Section(HTTP)
    aws_sns_sqs: _Section[Options.AWSSNSSQS] = _Section(AWSSNSSQS)
    aws_endpoint_urls: _Section[Options.AWSEndpointURLs] = _Section(AWSEndpointURLs)
    amqp: _Section[Options.AMQP] = _Section(AMQP)
    watcher: _Section[Options.Watcher] = _Section(Watcher)

    @overload
    def __init__(
        self,
        *,
        http: Options.HTTP | Mapping[str, Any] | None = None,
        aws_sns_sqs: Options.AWSSNSSQS | Mapping[str, Any] | None = None,
        aws_endpoint_urls: Options.AWSEndpointURLs | Mapping[str, Any] | None = None,
        amqp: Options.AMQP | Mapping[str, Any] | None = None,
        watcher: Options.Watcher | Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None: ...

    @overload
    def __init__(self, **kwargs: Any) -> None:
        """Dotted or legacy keys only, e.g. ``Options(**{"http.port": 80})``."""

    def __init__(
        self,
        *,
        http: Options.HTTP | Mapping[str, Any] | None = None,
        aws_sns_sqs: Options.AWSSNSSQS | Mapping[str, Any] | None = None,
        aws_endpoint_urls: Options.AWSEndpointURLs | Mapping[str, Any] | None = None,
        amqp: Options.AMQP | Mapping[str, Any] | None = None,
        watcher: Options.Watcher | Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        sections = {
            "http": http,
            "aws_sns_sqs": aws_sns_sqs,
            "aws_endpoint_urls": aws_endpoint_urls,
            "amqp": amqp,
            "watcher": watcher,
        }
        super().__init__(**{name: value for name, value in sections.items() if value is not None}, **kwargs)


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
    # keepalive_expiry is only used when keepalive_timeout is 0 (spec §5).
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


def _collect(path: Path, value: Any, out: list[_Assign] | None = None) -> list[_Assign]:
    """Turn nested and/or dotted input (or an options instance) at ``path`` into canonical assignments."""
    out = [] if out is None else out
    schema = _schema()
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


# --- config files ----------------------------------------------------------------------------------------------


def merge_dicts(base: Mapping[str, Any], overlay: Mapping[str, Any]) -> dict[str, Any]:
    """Deep merge into a new dict: dicts merge recursively, lists concatenate, anything else is replaced."""
    result: dict[str, Any] = {key: _fresh(value) for key, value in base.items()}
    for key, value in overlay.items():
        if key in result:
            result[key] = merge_config_value(result[key], value)
        else:
            result[key] = _fresh(value)
    return result


def _fresh(value: Any) -> Any:
    if isinstance(value, Mapping) and not isinstance(value, OptionsInterface):
        return {k: _fresh(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_fresh(v) for v in value]
    return value


def merge_config_value(current: Any, new: Any) -> Any:
    """How a config value combines with an existing one: Options merge key by key (unlike upstream, which
    replaced them wholesale), dicts merge, lists concatenate, anything else is replaced."""
    if isinstance(current, OptionsInterface) and isinstance(new, (Mapping, OptionsInterface)):
        return current.merged(new)
    if isinstance(current, Mapping) and isinstance(new, Mapping) and not isinstance(new, OptionsInterface):
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
