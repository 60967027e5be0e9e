"""The ``tomodachi_prometheus`` meter provider (the ``prometheus`` extra): serves the services' metrics for Prometheus
from the first instrumented service on, where the ``OTEL_PYTHON_TOMODACHI_PROMETHEUS_*`` variables say."""

from __future__ import annotations

import inspect
import os
import threading
from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.resources import Resource

from tomodachi.logging.framework import framework_logger
from tomodachi.opentelemetry.environment_variables import (
    OTEL_PYTHON_TOMODACHI_PROMETHEUS_ADDRESS,
    OTEL_PYTHON_TOMODACHI_PROMETHEUS_INCLUDE_SCOPE_INFO,
    OTEL_PYTHON_TOMODACHI_PROMETHEUS_INCLUDE_TARGET_INFO,
    OTEL_PYTHON_TOMODACHI_PROMETHEUS_NAMESPACE_PREFIX,
    OTEL_PYTHON_TOMODACHI_PROMETHEUS_PORT,
)

try:
    import prometheus_client
    from opentelemetry.exporter.prometheus import PrometheusMetricReader
except ImportError as exc:
    raise ImportError(
        f"the tomodachi_prometheus meter provider needs the Prometheus exporter ({exc}): install the prometheus "
        "extra: pip install 'tomodachi[prometheus]'"
    ) from exc

DEFAULT_ADDRESS = "localhost"
DEFAULT_PORT = 9464

logger = framework_logger("tomodachi.opentelemetry")


def _setting(name: str, *fallbacks: str, default: str = "") -> str:
    """The first of the variables that is set (upstream's name, then the exporter's standard one)."""
    for variable in (name, *fallbacks):
        value = os.environ.get(variable, "").strip()
        if value:
            return value
    return default


def _switch(name: str, *fallbacks: str) -> bool:
    return _setting(name, *fallbacks, default="true").lower() in ("1", "true", "yes", "on")


class TomodachiPrometheusMeterProvider(MeterProvider):
    """A meter provider whose one reader is OpenTelemetry's Prometheus exporter; ``serve_metrics()`` (called when
    the first service is instrumented) starts the HTTP endpoint, and ``address`` is where it listens."""

    def __init__(self, prefix: str | None = None, registry: prometheus_client.CollectorRegistry | None = None) -> None:
        if prefix is None:
            prefix = _setting(
                OTEL_PYTHON_TOMODACHI_PROMETHEUS_NAMESPACE_PREFIX, "OTEL_EXPORTER_PROMETHEUS_NAMESPACE_PREFIX"
            )
        self.registry = registry if registry is not None else prometheus_client.REGISTRY
        options: dict[str, Any] = {
            "prefix": prefix,
            "disable_target_info": not _switch(
                OTEL_PYTHON_TOMODACHI_PROMETHEUS_INCLUDE_TARGET_INFO, "OTEL_EXPORTER_PROMETHEUS_INCLUDE_TARGET_INFO"
            ),
            "scope_info_enabled": _switch(OTEL_PYTHON_TOMODACHI_PROMETHEUS_INCLUDE_SCOPE_INFO),
            "registry": self.registry,
        }
        accepted = inspect.signature(PrometheusMetricReader.__init__).parameters
        if "registry" not in accepted and registry is not None:
            raise TypeError("this opentelemetry-exporter-prometheus cannot use a registry of its own")
        # older exporters take fewer of these options: what they lack keeps their default
        self.reader = PrometheusMetricReader(**{key: value for key, value in options.items() if key in accepted})
        super().__init__(metric_readers=[self.reader], resource=Resource.create())
        self.address: tuple[str, int] | None = None
        self._server: Any = None
        self._lock = threading.Lock()

    def serve_metrics(self) -> None:
        """Serve ``/metrics`` (idempotent). A port that cannot be bound raises, as upstream's provider does."""
        with self._lock:
            if self._server is not None:
                return
            host = _setting(OTEL_PYTHON_TOMODACHI_PROMETHEUS_ADDRESS, "OTEL_EXPORTER_PROMETHEUS_HOST")
            port = int(_setting(OTEL_PYTHON_TOMODACHI_PROMETHEUS_PORT, "OTEL_EXPORTER_PROMETHEUS_PORT", default="9464"))
            host = host or DEFAULT_ADDRESS
            try:
                server, _thread = prometheus_client.start_http_server(port, addr=host, registry=self.registry)
            except OSError as exc:
                logger.warning("unable to serve prometheus metrics", listen_host=host, listen_port=port, error=str(exc))
                raise
            self._server = server
            self.address = (host, int(server.server_port))
        logger.info(
            "prometheus metrics served", listen_url=f"http://{host}:{self.address[1]}/metrics", listen_host=host
        )

    def shutdown(self, timeout_millis: float = 30_000) -> None:
        with self._lock:
            server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        super().shutdown(timeout_millis=timeout_millis)


__all__ = ["DEFAULT_ADDRESS", "DEFAULT_PORT", "TomodachiPrometheusMeterProvider"]
