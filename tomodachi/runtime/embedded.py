"""`tomodachi run --brokers memory`: every service of the process shares one in-memory broker per bus."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from typing import Any

from tomodachi.messaging.broker import AnyBroker
from tomodachi.messaging.memory_brokers import MEMORY_BROKERS, create_memory_broker
from tomodachi.runtime.clock import Clock
from tomodachi.runtime.environment import BrokerFactory, Environment

# publishes (and AMQP dead letters) the brokers' logs keep for inspection; older entries are forgotten
HISTORY = 1000


class EmbeddedBrokers:
    """The in-memory brokers of the buses set to ``memory``, on the process's real clock.

    Installed into an Environment, every service asking for that bus gets the same broker, whatever its
    connection options say; the brokers outlive a reload (their queues keep their messages) and are closed by
    :meth:`close` when the process stops."""

    def __init__(self, kinds: Mapping[str, str], clock: Clock, *, history: int | None = HISTORY) -> None:
        unknown = set(kinds) - set(MEMORY_BROKERS)
        if unknown:
            raise ValueError(f"unknown bus {sorted(unknown)[0]!r}: use one of {', '.join(MEMORY_BROKERS)}")
        self.brokers: dict[str, Any] = {
            bus: create_memory_broker(bus, clock, history=history) for bus, kind in kinds.items() if kind == "memory"
        }

    def install(self, environment: Environment) -> None:
        for bus, broker in self.brokers.items():
            environment.broker_factories[bus] = _always(broker)

    def notice(self) -> str:
        """The start-up line: says plainly where the messages are."""
        buses = " and ".join(self.brokers)
        return f"in-memory message brokers for {buses}: messages live in this process only and are lost when it stops"

    async def close(self) -> None:
        for broker in self.brokers.values():
            await broker.close()


def _always(broker: AnyBroker) -> BrokerFactory:
    """A broker factory handing every service the one shared broker, whatever its connection key."""

    def shared(key: Hashable, build_default: Callable[[], AnyBroker]) -> AnyBroker:
        return broker

    return shared
