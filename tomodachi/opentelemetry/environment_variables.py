"""The environment variables of tomodachi's OpenTelemetry instrumentation (upstream's names), beside the standard
``OTEL_*`` ones the SDK reads."""

from __future__ import annotations

OTEL_PYTHON_TOMODACHI_EXCLUDED_URLS = "OTEL_PYTHON_TOMODACHI_EXCLUDED_URLS"
"""Comma-separated regular expressions: requests whose path matches one get no span (falls back to
``OTEL_PYTHON_EXCLUDED_URLS``)."""

OTEL_PYTHON_TOMODACHI_PROMETHEUS_ADDRESS = "OTEL_PYTHON_TOMODACHI_PROMETHEUS_ADDRESS"
"""Where the ``tomodachi_prometheus`` meter provider serves its metrics (default ``localhost``)."""

OTEL_PYTHON_TOMODACHI_PROMETHEUS_PORT = "OTEL_PYTHON_TOMODACHI_PROMETHEUS_PORT"
"""Its port (default 9464; 0 picks a free one)."""

OTEL_PYTHON_TOMODACHI_PROMETHEUS_NAMESPACE_PREFIX = "OTEL_PYTHON_TOMODACHI_PROMETHEUS_NAMESPACE_PREFIX"
"""A prefix for every metric name, joined with ``_`` (default none)."""

OTEL_PYTHON_TOMODACHI_PROMETHEUS_INCLUDE_TARGET_INFO = "OTEL_PYTHON_TOMODACHI_PROMETHEUS_INCLUDE_TARGET_INFO"
"""Whether to serve the ``target_info`` metric with the resource's attributes (default true)."""

OTEL_PYTHON_TOMODACHI_PROMETHEUS_INCLUDE_SCOPE_INFO = "OTEL_PYTHON_TOMODACHI_PROMETHEUS_INCLUDE_SCOPE_INFO"
"""Whether metrics carry the instrumentation scope's name and version as labels (default true)."""

TOMODACHI_OPENTELEMETRY_INSTRUMENT = "TOMODACHI_OPENTELEMETRY_INSTRUMENT"
"""``tomodachi run``'s switch for ``--opentelemetry-instrument``."""
