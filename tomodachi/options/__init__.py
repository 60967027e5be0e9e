"""Service options: a typed tree with defaults, dotted keys, legacy key mapping and validation.

``values`` holds the errors, converters and descriptors; ``schema`` the keys and legacy aliases; ``config_files``
the JSON loader of ``tomodachi run -c``.
"""

from __future__ import annotations

import copy
import sys
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar, TypeVar, overload

from tomodachi.options.config_files import load_config_files, merge_config_value, merge_dicts
from tomodachi.options.schema import _collect, _schema, _suggest
from tomodachi.options.values import (
    _NOT_NEGATIVE,
    _PORT,
    HIDDEN,
    SECRET_OPTIONS,
    ConfigError,
    InvalidOptionError,
    OptionsError,
    Path,
    UnknownOptionError,
    _Assign,
    _client_max_size,
    _dotted,
    _Option,
    _Section,
    _str_list,
    parse_size,
)

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

_S = TypeVar("_S", bound="OptionsInterface")


class OptionsInterface:
    """Base of ``Options`` and its sections: attribute and dotted-key access, flattening, copy and merge."""

    _PATH: ClassVar[Path] = ()
    _MEMBERS: ClassVar[dict[str, _Option[Any] | _Section[Any]]] = {}
    _values: dict[str, Any]
    _deferred: list[_Assign]

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        members: dict[str, _Option[Any] | _Section[Any]] = {}
        for klass in reversed(cls.__mro__):
            members.update({k: v for k, v in vars(klass).items() if isinstance(v, (_Option, _Section))})
        cls._MEMBERS = members

    def __init__(self, **kwargs: object) -> None:
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

    def _replace_section(self, name: str, value: object) -> None:
        member = self._MEMBERS[name]
        assert isinstance(member, _Section)
        fresh = member.cls()
        fresh._apply(_collect(fresh._PATH, value), defer=True)
        leftovers, fresh._deferred[:] = list(fresh._deferred), []
        self._apply(leftovers, defer=False)
        self._values[name] = fresh

    def _flat(self) -> Iterator[tuple[Path, object]]:
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

    def __setattr__(self, name: str, value: object) -> None:
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

    def __setitem__(self, key: str, value: object) -> None:
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

    def get(self, key: str, default: object = None) -> Any:
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

    def __deepcopy__(self: _S, memo: dict[int, object]) -> _S:
        return self.copy()

    def merged(self: _S, overrides: Mapping[str, object] | OptionsInterface) -> _S:
        """A new object: ``overrides`` (nested and/or dotted, legacy keys allowed) applied key by key over self."""
        new = self.copy()
        new._apply(_collect(self._PATH, overrides), defer=False)
        return new

    def update(self, overrides: Mapping[str, object] | OptionsInterface) -> None:
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
        http: Options.HTTP | Mapping[str, object] | None = None,
        aws_sns_sqs: Options.AWSSNSSQS | Mapping[str, object] | None = None,
        aws_endpoint_urls: Options.AWSEndpointURLs | Mapping[str, object] | None = None,
        amqp: Options.AMQP | Mapping[str, object] | None = None,
        watcher: Options.Watcher | Mapping[str, object] | None = None,
        **kwargs: object,
    ) -> None: ...

    @overload
    def __init__(self, **kwargs: object) -> None:
        """Dotted or legacy keys only, e.g. ``Options(**{"http.port": 80})``."""

    def __init__(
        self,
        *,
        http: object = None,
        aws_sns_sqs: object = None,
        aws_endpoint_urls: object = None,
        amqp: object = None,
        watcher: object = None,
        **kwargs: object,
    ) -> None:
        # the dotted-keys overload may name a section too, with any value: _collect refuses all but a mapping or
        # that section
        sections = {
            "http": http,
            "aws_sns_sqs": aws_sns_sqs,
            "aws_endpoint_urls": aws_endpoint_urls,
            "amqp": amqp,
            "watcher": watcher,
        }
        super().__init__(**{name: value for name, value in sections.items() if value is not None}, **kwargs)
