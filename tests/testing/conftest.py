"""Fixtures for tests of the testing harness: pytester (inner pytest runs) and a recording transport."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from typing import Any

import pytest

from tomodachi.runtime.transport import TRANSPORT_FACTORIES, TransportContext

pytest_plugins = ["pytester"]

FAKE_MODULE = "tomodachi_tests_testing_transport"


class DeliveringTransport:
    """A minimal transport: ``deliver(topic, *args)`` calls the handlers of a topic and reports their errors
    to the environment, as every real transport does."""

    instances: list[DeliveringTransport] = []

    def __init__(self, context: TransportContext) -> None:
        self.context = context
        self.running = False
        DeliveringTransport.instances.append(self)

    async def setup(self) -> None:
        pass

    async def start(self) -> None:
        self.running = True

    async def stop(self, grace_period: float) -> None:
        self.running = False

    async def deliver(self, topic: str, *args: Any) -> list[Any]:
        results = []
        for handler in self.context.handlers:
            if handler.spec.args.get("topic") != topic:
                continue
            try:
                results.append(await handler.func(*args))
            except Exception as exc:
                self.context.environment.report_error(exc, f"{self.context.service.name}.{handler.name}")
        return results


@pytest.fixture(autouse=True)
def delivering_transport(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[DeliveringTransport]]:
    module = types.ModuleType(FAKE_MODULE)
    module.create_transport = DeliveringTransport  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, FAKE_MODULE, module)
    monkeypatch.setitem(TRANSPORT_FACTORIES, "delivering", f"{FAKE_MODULE}:create_transport")
    DeliveringTransport.instances = []
    yield DeliveringTransport
    DeliveringTransport.instances = []
