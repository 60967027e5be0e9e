"""Scheduled functions (a span per run, on the virtual clock) and lifecycle hooks (a span per hook) of instrumented
services; instrumentation on and off."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry.trace import SpanKind, StatusCode

import tomodachi
from tomodachi.opentelemetry import TomodachiInstrumentor
from tomodachi.testing import ServiceFactory, VirtualClock, system
from tomodachi.testing.otel import SpanRecorder, record_spans


class Bell(tomodachi.Service):
    name = "bell"

    def __init__(self) -> None:
        self.rings = 0

    @tomodachi.schedule(interval="1 minute")
    async def ring(self) -> None:
        self.rings += 1
        if self.rings == 2:
            raise RuntimeError("the bell is cracked")

    async def _start_service(self) -> None:
        pass

    def _started_service(self) -> None:
        pass

    async def _stop_service(self) -> None:
        pass


async def test_each_scheduled_run_is_a_span_at_its_fire_time(
    otel_spans: SpanRecorder, tomodachi_service: ServiceFactory, virtual_clock: VirtualClock
) -> None:
    svc = await tomodachi_service(Bell)
    svc.expect_errors(RuntimeError)
    await virtual_clock.advance("2 minutes")

    first, second = otel_spans.named("ring")
    assert first.kind is SpanKind.INTERNAL
    assert first.attributes["code.function"] == "ring"  # type: ignore[index]
    assert first.attributes["function.trigger"] == "timer"  # type: ignore[index]
    assert first.attributes["function.time"] == "2024-01-01T00:01:00Z"  # type: ignore[index]
    assert second.start_time is not None and first.start_time is not None
    assert second.start_time - first.start_time == 60 * 1_000_000_000
    assert second.status.status_code is StatusCode.ERROR
    assert first.context is not None and second.context is not None
    assert first.context.trace_id != second.context.trace_id  # every run is a trace of its own
    counts = {p.attributes["function.success"]: p.count for p in otel_spans.metric_points("function.duration")}
    assert counts == {True: 1, False: 1}


async def test_lifecycle_hooks_are_spans_sync_or_async(otel_spans: SpanRecorder) -> None:
    async with system(Bell):
        pass
    names = otel_spans.names()
    assert names[:2] == ["_start_service", "_started_service"]
    assert names[-1] == "_stop_service"
    assert otel_spans.one("_started_service").attributes["tomodachi.service.name"] == "bell"  # type: ignore[index]


class Fragile(tomodachi.Service):
    name = "fragile"

    @tomodachi.schedule(interval="1 hour")
    async def hourly(self) -> None: ...

    async def _start_service(self) -> None:
        raise ConnectionError("the database is not there")


async def test_a_failing_start_hook_is_an_error_span(otel_spans: SpanRecorder) -> None:
    with pytest.raises(Exception, match="the database is not there"):
        async with system(Fragile):
            pass
    span = otel_spans.one("_start_service")
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == "ConnectionError"  # type: ignore[index]


async def test_services_started_after_uninstrument_are_not_instrumented() -> None:
    with record_spans() as spans:
        pass
    async with system(Bell) as sys_:
        await sys_.clock.advance("1 minute")
        handle = sys_.service("bell")
        assert handle.instance.rings == 1
        assert not getattr(handle.instance, "_schedule_pre_middleware", None)
    assert spans.names() == []


async def test_uninstrument_takes_the_instrumentation_off_running_services() -> None:
    with record_spans() as spans:
        async with system(Bell) as sys_:
            instance: Any = sys_.service("bell").instance
            assert instance._schedule_pre_middleware
            TomodachiInstrumentor.uninstrument_service(instance)
            assert instance._schedule_pre_middleware == []
            assert "_start_service" not in vars(instance)
            await sys_.clock.advance("1 minute")
    assert "ring" not in spans.names()


async def test_a_service_is_instrumented_by_hand_with_instrument_service() -> None:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    async with system(Bell) as sys_:
        instance = sys_.service("bell").instance
        with pytest.raises(TypeError):
            TomodachiInstrumentor.instrument_service(Bell)
        TomodachiInstrumentor.instrument_service(instance, tracer_provider=provider)
        TomodachiInstrumentor.instrument_service(instance, tracer_provider=provider)  # once is enough
        await sys_.clock.advance("1 minute")
        TomodachiInstrumentor.uninstrument_service(instance)
    assert [span.name for span in exporter.get_finished_spans()] == ["ring"]


async def test_with_nothing_to_record_services_get_no_middleware_at_all() -> None:
    """Sampling off and no metric reader: instrumented services run exactly the code of uninstrumented ones."""
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

    instrumentor = TomodachiInstrumentor()
    instrumentor.instrument(
        tracer_provider=TracerProvider(sampler=ALWAYS_OFF),
        meter_provider=MeterProvider(shutdown_on_exit=False),
        skip_dep_check=True,
    )
    try:
        async with system(Bell) as sys_:
            instance = sys_.service("bell").instance
            assert not getattr(instance, "_schedule_pre_middleware", None)
            assert "_start_service" not in vars(instance)
    finally:
        instrumentor.uninstrument()
