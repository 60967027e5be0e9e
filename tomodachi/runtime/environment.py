"""What a running service is wired to: the clock, the message brokers, and where handler errors are reported."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar, cast

from tomodachi.runtime.clock import Clock, RealClock
from tomodachi.runtime.execution_report import ExecutionReport
from tomodachi.runtime.observe import Observer

if TYPE_CHECKING:
    from tomodachi.messaging.broker import AnyBroker

ErrorReporter = Callable[[BaseException, str], None]
# (connection key, build the bus's own broker) -> the broker to use; see Environment
BrokerFactory = Callable[[Hashable, Callable[[], "AnyBroker"]], "AnyBroker"]
BrokerT = TypeVar("BrokerT", bound="AnyBroker")


def _ignore_error(exc: BaseException, where: str) -> None:
    """Production default: transports log errors themselves; nothing else to do."""


@dataclass
class Environment:
    """Shared by all containers of one launcher (process) or one test.

    ``broker_factories`` maps a bus name (``"amqp"``, ``"aws_sns_sqs"``) to a factory called with the
    connection key and ``build_default`` (builds the broker the transport would use without a factory: the real
    one); it returns the broker, of that bus, to use — an in-memory one, or the real one wrapped. When a bus has
    no entry the transport's real broker is built. Brokers are cached by ``(bus, key)`` through ``broker()`` so
    services sharing a connection share one instance. A broker from a factory belongs to whoever supplied the
    factory (the test harness, the embedded run): it outlives ``close_brokers()``, so in-memory queues keep their
    messages across a reload.
    ``http_bind`` overrides host/port of HTTP servers (tests bind 127.0.0.1 on an ephemeral port).
    ``execution`` holds what the transports report through ``tomodachi.get_execution_context()``.
    """

    clock: Clock = field(default_factory=RealClock)
    broker_factories: dict[str, BrokerFactory] = field(default_factory=dict)
    report_error: ErrorReporter = _ignore_error
    http_bind: tuple[str, int] | None = None
    # told about every handler call and every message given up on (tests keep records; production has none)
    observers: list[Observer] = field(default_factory=list)
    # HTTP ports bound by the services of this environment, and by whom: with reuse_port a second service in the
    # same process would otherwise share the port and silently take half of its requests
    http_ports: dict[int, str] = field(default_factory=dict)
    execution: ExecutionReport = field(default_factory=ExecutionReport)
    _brokers: dict[tuple[str, Hashable], AnyBroker] = field(default_factory=dict)
    _built_here: set[tuple[str, Hashable]] = field(default_factory=set)

    def broker(self, bus: str, key: Hashable, build_default: Callable[[], BrokerT]) -> BrokerT:
        """The broker for ``bus`` identified by ``key`` (e.g. connection settings), created once."""
        cache_key = (bus, key)
        found = self._brokers.get(cache_key)
        if found is None:
            factory = self.broker_factories.get(bus)
            if factory is None:
                found = build_default()
                self._built_here.add(cache_key)
            else:
                found = factory(key, build_default)
            self._brokers[cache_key] = found
        # a factory of a bus hands out brokers of that bus (the contract of broker_factories)
        return cast(BrokerT, found)

    def brokers(self) -> list[AnyBroker]:
        return list(self._brokers.values())

    async def close_brokers(self) -> None:
        """Close every broker this environment built (also those only used for publishing) and forget them all;
        brokers from ``broker_factories`` are left to their owner."""
        built = self._built_here
        brokers = [broker for key, broker in self._brokers.items() if key in built]
        self._brokers, self._built_here = {}, set()
        for broker in brokers:
            try:
                await broker.close()
            except Exception:  # closing is best effort at shutdown; the transports already settled their work
                from tomodachi.logging import framework_logger

                framework_logger("tomodachi.teardown").exception("error closing a broker")
