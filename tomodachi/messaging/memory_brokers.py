"""The in-memory brokers by bus name: what the test harness and `tomodachi run --brokers memory` run on."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Literal, overload

from tomodachi.runtime.clock import Clock

if TYPE_CHECKING:
    from tomodachi.messaging.amqp.memory import MemoryAmqpBroker
    from tomodachi.messaging.sns_sqs.memory import MemorySnsSqsBroker

# bus name -> "module:class" of its in-memory broker; imported on first use, so a bus nobody uses costs nothing
MEMORY_BROKERS: dict[str, str] = {
    "amqp": "tomodachi.messaging.amqp.memory:MemoryAmqpBroker",
    "aws_sns_sqs": "tomodachi.messaging.sns_sqs.memory:MemorySnsSqsBroker",
}


@overload
def create_memory_broker(bus: Literal["amqp"], clock: Clock, *, history: int | None = None) -> MemoryAmqpBroker: ...


@overload
def create_memory_broker(
    bus: Literal["aws_sns_sqs"], clock: Clock, *, history: int | None = None
) -> MemorySnsSqsBroker: ...


@overload
def create_memory_broker(
    bus: str, clock: Clock, *, history: int | None = None
) -> MemoryAmqpBroker | MemorySnsSqsBroker: ...


def create_memory_broker(
    bus: str, clock: Clock, *, history: int | None = None
) -> MemoryAmqpBroker | MemorySnsSqsBroker:
    """A new in-memory broker of ``bus`` on ``clock``, keeping the last ``history`` publishes (``None``: all)."""
    try:
        target = MEMORY_BROKERS[bus]
    except KeyError:
        raise ValueError(f"unknown bus {bus!r}: use one of {', '.join(MEMORY_BROKERS)}") from None
    module_name, _, class_name = target.partition(":")
    broker: MemoryAmqpBroker | MemorySnsSqsBroker = getattr(importlib.import_module(module_name), class_name)(
        clock=clock, history=history
    )
    return broker
