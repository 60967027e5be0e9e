"""AMQP settings read from a service's Options (``options.amqp.*``), and the shared broker lookup."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tomodachi.messaging.broker import environment_of


def _section(options: Any, name: str) -> Any:
    if options is None:
        return None
    if isinstance(options, Mapping):
        return options.get(name)
    return getattr(options, name, None)


def _value(section: Any, name: str, default: Any) -> Any:
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

    @classmethod
    def from_options(cls, options: Any) -> AmqpSettings:
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
        )

    @property
    def broker_key(self) -> tuple[Any, ...]:
        """Services with equal keys share one broker (one connection per process, as upstream)."""
        return (self.host, self.port, self.virtualhost, self.login, self.ssl)


def get_broker(environment: Any, settings: AmqpSettings) -> Any:
    """The AMQP broker for these settings from the Environment (a fake in tests, else the real one)."""

    def real() -> Any:
        from tomodachi.messaging.amqp.real import create_broker

        return create_broker(settings, environment.clock)

    return environment.broker("amqp", settings.broker_key, real)


def broker_for_service(service: Any) -> tuple[Any, AmqpSettings]:
    settings = AmqpSettings.from_options(getattr(service, "options", None))
    return get_broker(environment_of(service), settings), settings
