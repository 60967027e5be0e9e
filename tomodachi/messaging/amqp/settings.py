"""AMQP settings read from a service's Options (``options.amqp.*``), and the shared broker lookup."""

from __future__ import annotations

import hashlib
import hmac
import os
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from tomodachi.messaging.amqp.descriptors import AmqpBrokerProtocol

if TYPE_CHECKING:
    from tomodachi.messaging.amqp.memory import MemoryAmqpBroker
    from tomodachi.runtime.environment import Environment


def _section(options: object, name: str) -> object:
    if options is None:
        return None
    if isinstance(options, Mapping):
        return options.get(name)
    return getattr(options, name, None)


def _value(section: object, name: str, default: object) -> Any:
    if section is None:
        return default
    value = section.get(name, default) if isinstance(section, Mapping) else getattr(section, name, default)
    return default if value is None and default is not None else value


@dataclass(frozen=True)
class AmqpSettings:
    host: str = "127.0.0.1"
    port: int = 5672
    login: str = "guest"
    password: str = field(default="guest", repr=False)  # never in a log line
    virtualhost: str = "/"
    ssl: bool = False
    heartbeat: int = 60
    exchange_name: str = "amq.topic"
    routing_key_prefix: str = ""
    queue_name_prefix: str = ""
    queue_ttl: float = 86400
    queue_prefetch_count: int = 100
    global_prefetch_count: int = 400
    # True: publishes wait for RabbitMQ's confirm (per batch, at the end of the unit of work); False: upstream's
    # fire-and-forget
    publisher_confirms: bool = True

    @classmethod
    def from_options(cls, options: object) -> AmqpSettings:
        amqp = _section(options, "amqp")
        qos = _section(amqp, "qos")
        d = cls()
        return cls(
            host=_value(amqp, "host", d.host),
            port=int(_value(amqp, "port", d.port)),
            login=_value(amqp, "login", d.login),
            password=_value(amqp, "password", d.password),
            virtualhost=_value(amqp, "virtualhost", d.virtualhost),
            ssl=bool(_value(amqp, "ssl", d.ssl)),
            heartbeat=int(_value(amqp, "heartbeat", d.heartbeat)),
            exchange_name=_value(amqp, "exchange_name", d.exchange_name) or d.exchange_name,
            routing_key_prefix=_value(amqp, "routing_key_prefix", "") or "",
            queue_name_prefix=_value(amqp, "queue_name_prefix", "") or "",
            queue_ttl=float(_value(amqp, "queue_ttl", d.queue_ttl) or 0),
            queue_prefetch_count=int(_value(qos, "queue_prefetch_count", d.queue_prefetch_count)),
            global_prefetch_count=int(_value(qos, "global_prefetch_count", d.global_prefetch_count)),
            publisher_confirms=bool(_value(amqp, "publisher_confirms", d.publisher_confirms)),
        )

    @cached_property
    def broker_key(self) -> tuple[str, int, str, str, str, bool, bool]:
        """Services with equal keys share one broker (one connection per process, as upstream). The password is
        part of it, as a digest (keys may be logged): another password is another connection, never silently
        the first service's. So is ``publisher_confirms``: it decides how the connection publishes."""
        return (
            self.host,
            self.port,
            self.virtualhost,
            self.login,
            _password_digest(self.password),
            self.ssl,
            self.publisher_confirms,
        )


# keys are compared within one process only: a key unknown outside it makes the digest useless for guessing
_KEY_SECRET = os.urandom(32)


def _password_digest(password: str) -> str:
    return hmac.new(_KEY_SECRET, password.encode("utf-8"), hashlib.sha256).hexdigest()


def get_broker(environment: Environment, settings: AmqpSettings) -> AmqpBrokerProtocol:
    """The AMQP broker for these settings from the Environment (a fake in tests, else the real one)."""

    def real() -> AmqpBrokerProtocol:
        from tomodachi.messaging.amqp.real import create_broker

        return create_broker(settings, environment.clock)

    return environment.broker("amqp", settings.broker_key, real)


if TYPE_CHECKING:

    def _in_memory(broker: MemoryAmqpBroker) -> AmqpBrokerProtocol:
        return broker  # mypy: the in-memory broker (of the harness and the embedded run) is one too


# parsed settings per service instance, for as long as it keeps the same options object (publishing is hot)
_settings_cache: weakref.WeakKeyDictionary[Any, tuple[Any, AmqpSettings]] = weakref.WeakKeyDictionary()


def settings_of(service: object) -> AmqpSettings:
    """The AMQP settings of a service (parsed once per options object)."""
    options = getattr(service, "options", None)
    try:
        cached = _settings_cache.get(service)
    except TypeError:  # not weak-referenceable / hashable: parse every time
        return AmqpSettings.from_options(options)
    if cached is not None and cached[0] is options:
        return cached[1]
    settings = AmqpSettings.from_options(options)
    try:
        _settings_cache[service] = (options, settings)
    except TypeError:
        pass
    return settings
