"""A span exporter that drops every batch it is given: with it the SDK's BatchSpanProcessor (what an exporter runs
behind) does all its work (queue, worker thread, batches), and no exporter's own cost is added to the figures."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

NAME = "tomodachi_bench_null"  # its OTEL_TRACES_EXPORTER name


class NullSpanExporter(SpanExporter):
    def __init__(self) -> None:
        self.exported = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.exported += len(spans)
        return SpanExportResult.SUCCESS


def register(folder: Path) -> None:
    """Make ``OTEL_TRACES_EXPORTER=tomodachi_bench_null`` name this exporter for a process with ``folder`` and this
    module's folder on its PYTHONPATH (an entry point, as an installed exporter has)."""
    info = folder / "tomodachi_bench_null_exporter-0.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: tomodachi-bench-null-exporter\nVersion: 0\n")
    (info / "entry_points.txt").write_text(
        f"[opentelemetry_traces_exporter]\n{NAME} = null_exporter:NullSpanExporter\n"
    )
