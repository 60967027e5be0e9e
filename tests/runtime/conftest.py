"""Fixtures for runtime tests: a recording in-memory transport plugged in through the transport registry."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from typing import Any

import pytest

import tomodachi
from tomodachi.runtime import context as execution_context
from tomodachi.runtime.transport import TRANSPORT_FACTORIES, TransportContext

FAKE_MODULE = "tomodachi_tests_recording_transport"


class RecordingTransport:
    """A transport that records its lifecycle into ``service.events`` and can deliver work to handlers."""

    instances: list[RecordingTransport] = []

    def __init__(self, context: TransportContext) -> None:
        self.context = context
        self.setup_error: BaseException | None = getattr(context.service, "fail_transport_setup", None)
        self.stopped_with: float | None = None
        RecordingTransport.instances.append(self)

    def _record(self, event: str) -> None:
        events = getattr(self.context.service, "events", None)
        if events is not None:
            events.append(event)

    async def setup(self) -> None:
        self._record("transport.setup")
        if self.setup_error is not None:
            raise self.setup_error

    async def start(self) -> None:
        self._record("transport.start")

    async def stop(self, grace_period: float) -> None:
        self.stopped_with = grace_period
        self._record("transport.stop")

    async def deliver(self, topic: str, *args: Any) -> Any:
        """Call every handler subscribed to ``topic``; handler errors go to the environment's reporter."""
        results = []
        for handler in self.context.handlers:
            if handler.spec.args.get("topic") != topic:
                continue
            try:
                results.append(await handler.func(*args))
            except Exception as exc:
                self.context.environment.report_error(exc, f"{self.context.service.name}.{handler.name}")
        return results


def _create_transport(context: TransportContext) -> RecordingTransport:
    return RecordingTransport(context)


@pytest.fixture(autouse=True)
def recording_transport(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[RecordingTransport]]:
    """Register the ``recording`` transport for the duration of one test."""
    module = types.ModuleType(FAKE_MODULE)
    module.create_transport = _create_transport  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, FAKE_MODULE, module)
    monkeypatch.setitem(TRANSPORT_FACTORIES, "recording", f"{FAKE_MODULE}:create_transport")
    RecordingTransport.instances = []
    yield RecordingTransport
    RecordingTransport.instances = []


@pytest.fixture(autouse=True)
def clean_process_state() -> Iterator[None]:
    """Services, the execution context and the exit code are process-wide: reset them around each test."""
    execution_context._clear_services()
    exit_code = tomodachi.SERVICE_EXIT_CODE
    yield
    execution_context._clear_services()
    execution_context._set_exit_handler(None)
    tomodachi.SERVICE_EXIT_CODE = exit_code
