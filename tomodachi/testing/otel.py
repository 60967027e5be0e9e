"""Spans and metrics of the services of a test, kept in memory: ``record_spans()`` (behind the ``otel_spans`` fixture)
instruments every service started while it is on. Span times are the services' clock: virtual time on the fakes."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the opentelemetry extra is imported when spans are recorded, never before
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

EXTRA_HINT = "install the opentelemetry extra: pip install 'tomodachi[opentelemetry]'"


class MissingOpenTelemetry(ImportError):
    """The opentelemetry extra is not installed."""


class SpanRecorder:
    """The spans the instrumented services finished so far (in the order they ended), and their metrics."""

    def __init__(
        self,
        exporter: InMemorySpanExporter,
        reader: InMemoryMetricReader,
        tracer_provider: TracerProvider,
        meter_provider: MeterProvider,
    ) -> None:
        self.exporter = exporter
        self.reader = reader
        self.tracer_provider = tracer_provider
        self.meter_provider = meter_provider

    @property
    def spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def __iter__(self) -> Iterator[ReadableSpan]:
        return iter(self.spans)

    def __len__(self) -> int:
        return len(self.spans)

    def names(self) -> list[str]:
        return [span.name for span in self.spans]

    def named(self, name: str) -> list[ReadableSpan]:
        return [span for span in self.spans if span.name == name]

    def one(self, name: str) -> ReadableSpan:
        """The one finished span called ``name``; an AssertionError naming the spans there are otherwise."""
        found = self.named(name)
        if len(found) != 1:
            raise AssertionError(f"expected one span {name!r}, found {len(found)} among {self.names()}")
        return found[0]

    def trace_of(self, span: ReadableSpan) -> list[ReadableSpan]:
        """Every finished span of ``span``'s trace, ``span`` included."""
        trace_id = span.context.trace_id if span.context is not None else None
        return [other for other in self.spans if other.context is not None and other.context.trace_id == trace_id]

    def children_of(self, span: ReadableSpan) -> list[ReadableSpan]:
        span_id = span.context.span_id if span.context is not None else None
        return [other for other in self.spans if other.parent is not None and other.parent.span_id == span_id]

    def clear(self) -> None:
        self.exporter.clear()

    def metric_points(self, name: str) -> list[Any]:
        """The data points of the metric called ``name`` collected now (histogram or sum points: ``attributes``,
        ``count`` / ``sum`` / ``value``)."""
        data = self.reader.get_metrics_data()
        points: list[Any] = []
        for resource_metrics in data.resource_metrics if data is not None else ():
            for scope_metrics in resource_metrics.scope_metrics:
                for metric in scope_metrics.metrics:
                    if metric.name == name:
                        points.extend(metric.data.data_points)
        return points


def _providers() -> tuple[Any, ...]:
    try:
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

        from tomodachi.opentelemetry import TomodachiInstrumentor
    except ImportError as exc:
        raise MissingOpenTelemetry(f"recording spans needs the OpenTelemetry SDK ({exc}): {EXTRA_HINT}") from exc
    resource = Resource.create({"service.name": "tomodachi-test"})
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader], resource=resource, shutdown_on_exit=False)
    return TomodachiInstrumentor, exporter, reader, tracer_provider, meter_provider


@contextmanager
def record_spans(*, excluded_urls: Sequence[str] = ()) -> Iterator[SpanRecorder]:
    """Instrument the services started inside the block (``system(...)``, the fixtures) with providers of their
    own, whose spans and metrics stay in memory; the global OpenTelemetry providers are not touched."""
    instrumentor_class, exporter, reader, tracer_provider, meter_provider = _providers()
    instrumentor = instrumentor_class()
    if instrumentor.is_instrumented_by_opentelemetry:
        raise RuntimeError(
            "tomodachi is instrumented already (TomodachiInstrumentor().instrument()): spans cannot be recorded on top"
        )
    instrumentor.instrument(
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
        excluded_urls=",".join(excluded_urls),
        skip_dep_check=True,
    )
    try:
        yield SpanRecorder(exporter, reader, tracer_provider, meter_provider)
    finally:
        instrumentor.uninstrument()
        tracer_provider.shutdown()
        meter_provider.shutdown()


__all__ = ["EXTRA_HINT", "MissingOpenTelemetry", "SpanRecorder", "record_spans"]
