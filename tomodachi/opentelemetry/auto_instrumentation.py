"""``--opentelemetry-instrument``: what ``opentelemetry-instrument`` would load, set up with the first service instance
so that ``service.name`` / ``service.instance.id`` default to that service's name and uuid."""

from __future__ import annotations

import os
from importlib.metadata import entry_points

from opentelemetry.instrumentation.environment_variables import (
    OTEL_PYTHON_CONFIGURATOR,
    OTEL_PYTHON_DISABLED_INSTRUMENTATIONS,
    OTEL_PYTHON_DISTRO,
)

from tomodachi.service import Service

BOOTSTRAP_HOOK = "_opentelemetry_bootstrap__post_init_hook"
# upstream's rule: the generic default names say nothing about the service
GENERIC_NAMES = ("service", "app")


def initialize() -> None:
    """Instrument the services of this process: configured with the first service instance created."""
    setattr(Service, BOOTSTRAP_HOOK, _bootstrap)


def _bootstrap(service: object) -> None:
    if BOOTSTRAP_HOOK in vars(Service):
        delattr(Service, BOOTSTRAP_HOOK)
    default_resource(service)
    configure()
    from tomodachi.opentelemetry.instrumentation import TomodachiInstrumentor

    # instrument() set the hook for the instances created from now on; this one is past its hooks already
    if TomodachiInstrumentor().is_instrumented_by_opentelemetry:
        TomodachiInstrumentor.instrument_service(service)


def default_resource(service: object) -> None:
    """``service.name`` and ``service.instance.id`` from ``service`` where the environment names none."""
    resource = os.environ.get("OTEL_RESOURCE_ATTRIBUTES", "")
    keys = {item.partition("=")[0].strip() for item in resource.split(",")}
    name = str(getattr(service, "name", "") or "")
    if name and name not in GENERIC_NAMES and not os.environ.get("OTEL_SERVICE_NAME") and "service.name" not in keys:
        os.environ["OTEL_SERVICE_NAME"] = name
    uuid = str(getattr(service, "uuid", "") or "")
    if uuid and "service.instance.id" not in keys:
        os.environ["OTEL_RESOURCE_ATTRIBUTES"] = ",".join(filter(None, (resource, f"service.instance.id={uuid}")))


def _registered(group: str, name: str) -> bool:
    return any(entry_point.name == name for entry_point in entry_points(group=group))


def configure() -> None:
    """Load distros, configurators and instrumentors as ``opentelemetry-instrument`` does, with tomodachi's distro
    and configurator unless ``OTEL_PYTHON_DISTRO`` / ``OTEL_PYTHON_CONFIGURATOR`` name others. Without tomodachi's
    entry points (a source tree that was not installed) its configurator and instrumentor are loaded directly."""
    for variable in (OTEL_PYTHON_DISTRO, OTEL_PYTHON_CONFIGURATOR):
        if not os.environ.get(variable):
            os.environ[variable] = "tomodachi"
    from opentelemetry.instrumentation.auto_instrumentation import initialize as load_installed

    from tomodachi.opentelemetry.distro import OpenTelemetryConfigurator, one_server_span_per_request

    one_server_span_per_request()  # here too: another distro than tomodachi's may be the one loaded
    load_installed()
    from tomodachi.opentelemetry.instrumentation import TomodachiInstrumentor

    configurator = os.environ[OTEL_PYTHON_CONFIGURATOR]
    if configurator == "tomodachi" and not _registered("opentelemetry_configurator", "tomodachi"):
        OpenTelemetryConfigurator().configure()  # type: ignore[no-untyped-call]
    disabled = {name.strip() for name in os.environ.get(OTEL_PYTHON_DISABLED_INSTRUMENTATIONS, "").split(",")}
    if disabled & {"tomodachi", "*"} or _registered("opentelemetry_instrumentor", "tomodachi"):
        return
    TomodachiInstrumentor().instrument(skip_dep_check=True)


__all__ = ["BOOTSTRAP_HOOK", "configure", "default_resource", "initialize"]
