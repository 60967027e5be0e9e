"""tomodachi's testing API: run whole systems of services in-process on in-memory buses and a virtual clock.

Everything a test needs is importable from here (names resolve lazily, so importing this package costs nothing
until one is used). The pytest fixtures (``tomodachi_service``, ``tomodachi_system``, ``virtual_clock``,
``fake_amqp``, ``fake_sns_sqs``) come from the plugin that installing tomodachi registers.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tomodachi.testing.clock import DEFAULT_START, Duration, Instant, VirtualClock
    from tomodachi.testing.fakes.faults import InjectedFailure
    from tomodachi.testing.fakes.protocols import FakeAmqp, FakeBus, FakeSnsSqs
    from tomodachi.testing.handle import ServiceHandle
    from tomodachi.testing.harness import ServiceHarness
    from tomodachi.testing.ledger import LostMessages, UnnoticedErrors
    from tomodachi.testing.plans import Fault, FaultPlan
    from tomodachi.testing.records import DeadLetter, HandlerCall, Pending, PublishedMessage, QueuedMessage
    from tomodachi.testing.settle import IdleTimeout, SettleTimeout
    from tomodachi.testing.systems import ServiceFactory, TestSystem, system

_EXPORTS = {
    "DEFAULT_START": "tomodachi.testing.clock",
    "Duration": "tomodachi.testing.clock",
    "Instant": "tomodachi.testing.clock",
    "VirtualClock": "tomodachi.testing.clock",
    "InjectedFailure": "tomodachi.testing.fakes.faults",
    "FakeAmqp": "tomodachi.testing.fakes.protocols",
    "FakeBus": "tomodachi.testing.fakes.protocols",
    "FakeSnsSqs": "tomodachi.testing.fakes.protocols",
    "ServiceHandle": "tomodachi.testing.handle",
    "ServiceHarness": "tomodachi.testing.harness",
    "LostMessages": "tomodachi.testing.ledger",
    "Fault": "tomodachi.testing.plans",
    "FaultPlan": "tomodachi.testing.plans",
    "UnnoticedErrors": "tomodachi.testing.ledger",
    "DeadLetter": "tomodachi.testing.records",
    "HandlerCall": "tomodachi.testing.records",
    "Pending": "tomodachi.testing.records",
    "PublishedMessage": "tomodachi.testing.records",
    "QueuedMessage": "tomodachi.testing.records",
    "IdleTimeout": "tomodachi.testing.settle",
    "SettleTimeout": "tomodachi.testing.settle",
    "ServiceFactory": "tomodachi.testing.systems",
    "TestSystem": "tomodachi.testing.systems",
    "system": "tomodachi.testing.systems",
}

__all__ = [
    "DEFAULT_START",
    "DeadLetter",
    "Duration",
    "FakeAmqp",
    "FakeBus",
    "FakeSnsSqs",
    "Fault",
    "FaultPlan",
    "HandlerCall",
    "IdleTimeout",
    "InjectedFailure",
    "Instant",
    "LostMessages",
    "Pending",
    "PublishedMessage",
    "QueuedMessage",
    "ServiceFactory",
    "ServiceHandle",
    "ServiceHarness",
    "SettleTimeout",
    "TestSystem",
    "UnnoticedErrors",
    "VirtualClock",
    "system",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'tomodachi.testing' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
