"""The tomodachi_prometheus meter provider, and the configuration --opentelemetry-instrument loads (distro,
configurator, OTEL_* variables; process-wide providers, so in a process of its own)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from prometheus_client import CollectorRegistry

import tomodachi
from tomodachi.opentelemetry import TomodachiInstrumentor
from tomodachi.opentelemetry.prometheus import TomodachiPrometheusMeterProvider
from tomodachi.testing import system


class Counter(tomodachi.Service):
    name = "counter"
    options = tomodachi.Options(http=tomodachi.Options.HTTP(access_log=False))

    @tomodachi.http("GET", r"/count")
    async def count(self, request: web.Request) -> str:
        return "1"


async def test_the_prometheus_provider_serves_the_metrics_of_instrumented_services(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OTEL_PYTHON_TOMODACHI_PROMETHEUS_ADDRESS", "127.0.0.1")
    monkeypatch.setenv("OTEL_PYTHON_TOMODACHI_PROMETHEUS_PORT", "0")
    monkeypatch.setenv("OTEL_PYTHON_TOMODACHI_PROMETHEUS_NAMESPACE_PREFIX", "shop")
    provider = TomodachiPrometheusMeterProvider(registry=CollectorRegistry())
    instrumentor = TomodachiInstrumentor()
    instrumentor.instrument(meter_provider=provider, skip_dep_check=True)
    try:
        assert provider.address is None  # nothing served before a service is instrumented
        async with system(Counter) as running:
            assert provider.address is not None
            await running.service("counter").http.get("/count")
            host, port = provider.address
            timeout = aiohttp.ClientTimeout(total=5)
            async with aiohttp.ClientSession(timeout=timeout) as client:
                async with client.get(f"http://{host}:{port}/metrics") as response:
                    text = await response.text()
    finally:
        instrumentor.uninstrument()
        provider.shutdown()
    assert "shop_http_server_duration_seconds_count{" in text
    assert 'http_route="/count"' in text
    assert "target_info" in text


def _python(code: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    clean = {key: value for key, value in os.environ.items() if not key.startswith(("OTEL_", "TOMODACHI_"))}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**clean, **env},
        cwd=cwd,
    )


def test_configure_loads_the_sdk_from_otel_variables_and_instruments_tomodachi(tmp_path: Path) -> None:
    result = _python(
        """
        from opentelemetry import metrics, trace
        from tomodachi.opentelemetry import TomodachiInstrumentor
        from tomodachi.opentelemetry.auto_instrumentation import configure

        configure()
        provider = trace.get_tracer_provider()
        print(type(provider).__name__, provider.sampler.get_description())
        print(provider.resource.attributes["service.name"])
        print(TomodachiInstrumentor().is_instrumented_by_opentelemetry)
        print(type(metrics.get_meter_provider()).__module__)
        """,
        {"OTEL_SERVICE_NAME": "configured", "OTEL_TRACES_SAMPLER": "always_off"},
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:4] == [
        "TracerProvider AlwaysOffSampler",
        "configured",
        "True",
        "opentelemetry.sdk.metrics._internal",
    ]


def test_a_meter_provider_named_by_otel_python_meter_provider_is_the_one_used(tmp_path: Path) -> None:
    result = _python(
        """
        from opentelemetry import metrics
        from tomodachi.opentelemetry.auto_instrumentation import configure

        configure()
        print(type(metrics.get_meter_provider()).__name__)
        """,
        {"OTEL_PYTHON_METER_PROVIDER": "tomodachi_prometheus", "OTEL_PYTHON_TOMODACHI_PROMETHEUS_PORT": "0"},
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "TomodachiPrometheusMeterProvider"
    assert "Overriding" not in result.stderr


def test_the_resource_defaults_to_the_first_service_name_and_uuid(monkeypatch: pytest.MonkeyPatch) -> None:
    from tomodachi.opentelemetry.auto_instrumentation import default_resource

    class Named:
        name = "orders"
        uuid = "9b2f"

    class Generic:
        name = "service"
        uuid = "1a"

    monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=test")
    default_resource(Named())
    assert os.environ["OTEL_SERVICE_NAME"] == "orders"
    assert os.environ["OTEL_RESOURCE_ATTRIBUTES"] == "deployment.environment=test,service.instance.id=9b2f"
    default_resource(Named())  # what is set stays
    assert os.environ["OTEL_RESOURCE_ATTRIBUTES"] == "deployment.environment=test,service.instance.id=9b2f"
    monkeypatch.delenv("OTEL_SERVICE_NAME")
    default_resource(Generic())
    assert "OTEL_SERVICE_NAME" not in os.environ


def test_the_distro_and_configurator_can_be_reset_for_the_next_configure() -> None:
    """Upstream's test suites reset both between tests; configure() then runs again."""
    from tomodachi.opentelemetry.distro import OpenTelemetryConfigurator, OpenTelemetryDistro

    configurator, distro = OpenTelemetryConfigurator(), OpenTelemetryDistro()
    configurator._is_instrumented = True
    configurator.reset()
    distro.reset()
    assert configurator._is_instrumented is False and OpenTelemetryConfigurator.configured is False
    assert distro._is_instrumented is False


FAKE_AIOHTTP_SERVER = """
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor

LOADED = []


class FakeAiohttpServerInstrumentor(BaseInstrumentor):
    def instrumentation_dependencies(self):
        return ()

    def _instrument(self, **kwargs):
        LOADED.append("aiohttp-server")

    def _uninstrument(self, **kwargs):
        pass
"""


@pytest.mark.parametrize(
    ("disabled", "aiohttp_server_loaded", "tomodachi_loaded", "disabled_after"),
    [
        (None, False, True, "aiohttp-server"),
        ("requests", False, True, "requests,aiohttp-server"),
        ("tomodachi", True, False, "tomodachi"),
    ],
)
def test_aiohttp_servers_instrumentor_is_left_out_while_tomodachis_makes_the_server_spans(
    tmp_path: Path, disabled: str | None, aiohttp_server_loaded: bool, tomodachi_loaded: bool, disabled_after: str
) -> None:
    """With opentelemetry-instrumentation-aiohttp-server installed too, every request would get two SERVER spans
    (an installed instrumentor is stood in for by one registered under its entry point name)."""
    (tmp_path / "fake_aiohttp_server.py").write_text(FAKE_AIOHTTP_SERVER)
    info = tmp_path / "fake_aiohttp_server-0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fake-aiohttp-server\nVersion: 0\n")
    (info / "entry_points.txt").write_text(
        "[opentelemetry_instrumentor]\naiohttp-server = fake_aiohttp_server:FakeAiohttpServerInstrumentor\n"
    )
    result = _python(
        """
        import os
        import fake_aiohttp_server
        from tomodachi.opentelemetry import TomodachiInstrumentor
        from tomodachi.opentelemetry.auto_instrumentation import configure

        configure()
        print(fake_aiohttp_server.LOADED == ["aiohttp-server"])
        print(TomodachiInstrumentor().is_instrumented_by_opentelemetry)
        print(os.environ["OTEL_PYTHON_DISABLED_INSTRUMENTATIONS"])
        """,
        {"OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": disabled} if disabled else {},
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:3] == [str(aiohttp_server_loaded), str(tomodachi_loaded), disabled_after]
