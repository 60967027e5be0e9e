"""tomodachi's OpenTelemetry distro and configurator (entry points ``tomodachi``): the SDK set up from the ``OTEL_*``
variables, honouring a provider named by ``OTEL_PYTHON_TRACER_PROVIDER`` / ``OTEL_PYTHON_METER_PROVIDER``."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.environment_variables import (
    OTEL_LOGS_EXPORTER,
    OTEL_METRICS_EXPORTER,
    OTEL_PYTHON_METER_PROVIDER,
    OTEL_PYTHON_TRACER_PROVIDER,
    OTEL_TRACES_EXPORTER,
)
from opentelemetry.instrumentation.distro import BaseDistro  # type: ignore[attr-defined]
from opentelemetry.instrumentation.environment_variables import (
    OTEL_PYTHON_CONFIGURATOR,
    OTEL_PYTHON_DISABLED_INSTRUMENTATIONS,
)
from opentelemetry.sdk._configuration import _OTelSDKConfigurator

OTEL_METRICS_EXEMPLAR_FILTER = "OTEL_METRICS_EXEMPLAR_FILTER"
# opentelemetry-instrumentation-aiohttp-server's instrumentor: it would add a second SERVER span to every request
AIOHTTP_SERVER = "aiohttp-server"

# the loggers of the API's "a provider is set already" warnings
_OVERRIDE_LOGGERS = ("opentelemetry.trace", "opentelemetry.metrics._internal")


class _DropOverrideWarnings(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "Overriding of current" not in record.getMessage()


@contextmanager
def _without_override_warnings() -> Iterator[None]:
    """The SDK's configurator sets providers of its own, which the API refuses (with a warning) where a named
    provider was set first: expected here, so not logged."""
    quiet = _DropOverrideWarnings()
    loggers = [logging.getLogger(name) for name in _OVERRIDE_LOGGERS]
    for logger in loggers:
        logger.addFilter(quiet)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeFilter(quiet)


def one_server_span_per_request() -> None:
    """Leave aiohttp's server instrumentor out of the instrumentors to load while tomodachi's is in: both would make
    a SERVER span of every request (tomodachi's has the route and the service's clock). Disabling ``tomodachi``
    keeps aiohttp's."""
    disabled = [name.strip() for name in os.environ.get(OTEL_PYTHON_DISABLED_INSTRUMENTATIONS, "").split(",")]
    disabled = [name for name in disabled if name]
    if not {"tomodachi", "*", AIOHTTP_SERVER} & set(disabled):
        os.environ[OTEL_PYTHON_DISABLED_INSTRUMENTATIONS] = ",".join([*disabled, AIOHTTP_SERVER])


class OpenTelemetryDistro(BaseDistro):  # type: ignore[misc]
    """Chooses tomodachi's configurator and, unless set, no exporters (set ``OTEL_TRACES_EXPORTER=console``,
    ``otlp``, … to export) and no exemplars (as upstream; each costs time per measurement of a sampled span); and
    one SERVER span per request (see ``one_server_span_per_request``)."""

    def _configure(self, **kwargs: Any) -> None:
        os.environ.setdefault(OTEL_PYTHON_CONFIGURATOR, "tomodachi")
        for variable in (OTEL_TRACES_EXPORTER, OTEL_METRICS_EXPORTER, OTEL_LOGS_EXPORTER):
            os.environ.setdefault(variable, "none")
        os.environ.setdefault(OTEL_METRICS_EXEMPLAR_FILTER, "always_off")
        one_server_span_per_request()

    def reset(self) -> None:
        """Let the next ``configure()`` run again (upstream's name; its test suites call it between tests)."""
        self._is_instrumented = False


class OpenTelemetryConfigurator(_OTelSDKConfigurator):
    """The SDK's configuration from the ``OTEL_*`` variables (exporters, sampler, id generator, resource), after a
    provider named by ``OTEL_PYTHON_TRACER_PROVIDER`` or ``OTEL_PYTHON_METER_PROVIDER`` became the global one."""

    configured = False

    def _configure(self, **kwargs: Any) -> None:
        if os.environ.get(OTEL_PYTHON_TRACER_PROVIDER):
            trace.get_tracer_provider()  # loads the named provider and makes it the global one
        if os.environ.get(OTEL_PYTHON_METER_PROVIDER):
            metrics.get_meter_provider()
        with _without_override_warnings():
            super()._configure(**kwargs)  # type: ignore[no-untyped-call]
        OpenTelemetryConfigurator.configured = True

    def reset(self) -> None:
        """Let the next ``configure()`` configure the SDK again (upstream's name; its test suites call it)."""
        self._is_instrumented = False
        OpenTelemetryConfigurator.configured = False


__all__ = ["AIOHTTP_SERVER", "OpenTelemetryConfigurator", "OpenTelemetryDistro", "one_server_span_per_request"]
