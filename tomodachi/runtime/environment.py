"""What a running service is wired to: the clock, the message brokers, and where handler errors are reported."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tomodachi.runtime.clock import Clock, RealClock
from tomodachi.runtime.observe import Observer

ErrorReporter = Callable[[BaseException, str], None]


def _ignore_error(exc: BaseException, where: str) -> None:
    """Production default: transports log errors themselves; nothing else to do."""


@dataclass
class Environment:
    """Shared by all containers of one launcher (process) or one test.

    ``broker_factories`` maps a bus name (``"amqp"``, ``"aws_sns_sqs"``) to a factory taking the service's
    Options and returning a broker; when a bus has no entry the transport builds its real broker. Brokers are
    cached by ``(bus, key)`` through ``broker()`` so services sharing a connection share one instance. A broker
    from a factory belongs to whoever supplied the factory (the test harness, the embedded run): it outlives
    ``close_brokers()``, so in-memory queues keep their messages across a reload.
    ``http_bind`` overrides host/port of HTTP servers (tests bind 127.0.0.1 on an ephemeral port).
    """

    clock: Clock = field(default_factory=RealClock)
    broker_factories: dict[str, Callable[[Any], Any]] = field(default_factory=dict)
    report_error: ErrorReporter = _ignore_error
    http_bind: tuple[str, int] | None = None
    # called with (bus, broker) once per broker created; the test harness observes publishes through it
    broker_observer: Callable[[str, Any], None] | None = None
    # told about every handler call and every message given up on (tests keep records; production has none)
    observers: list[Observer] = field(default_factory=list)
    # HTTP ports bound by the services of this environment, and by whom: with reuse_port a second service in the
    # same process would otherwise share the port and silently take half of its requests
    http_ports: dict[int, str] = field(default_factory=dict)
    _brokers: dict[tuple[str, Any], Any] = field(default_factory=dict)
    _built_here: set[tuple[str, Any]] = field(default_factory=set)

    def broker(self, bus: str, key: Any, default_factory: Callable[[], Any]) -> Any:
        """The broker for ``bus`` identified by ``key`` (e.g. connection settings), created once."""
        cache_key = (bus, key)
        if cache_key not in self._brokers:
            factory = self.broker_factories.get(bus)
            broker = factory(key) if factory is not None else default_factory()
            if factory is None:
                self._built_here.add(cache_key)
            if self.broker_observer is not None:
                self.broker_observer(bus, broker)
            self._brokers[cache_key] = broker
        return self._brokers[cache_key]

    def brokers(self) -> list[Any]:
        return list(self._brokers.values())

    async def close_brokers(self) -> None:
        """Close every broker this environment built (also those only used for publishing) and forget them all;
        brokers from ``broker_factories`` are left to their owner."""
        built = self._built_here
        brokers = [broker for key, broker in self._brokers.items() if key in built]
        self._brokers, self._built_here = {}, set()
        for broker in brokers:
            close = getattr(broker, "close", None)
            if close is None:
                continue
            try:
                await close()
            except Exception:  # closing is best effort at shutdown; the transports already settled their work
                import logging

                logging.getLogger("tomodachi.teardown").exception("error closing a broker")
