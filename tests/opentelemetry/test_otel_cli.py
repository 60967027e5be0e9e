"""`tomodachi --opentelemetry-instrument run`, `tomodachi run --opentelemetry-instrument` and
TOMODACHI_OPENTELEMETRY_INSTRUMENT: parsed from the option table, and a real run exporting its spans."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from tomodachi import cli
from tomodachi.cli import UsageError, main, parse_run_arguments

VARIABLE = "TOMODACHI_OPENTELEMETRY_INSTRUMENT"


@pytest.fixture
def no_variable(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.delenv(VARIABLE, raising=False)
    return monkeypatch


def test_the_run_option_and_its_variable_turn_instrumentation_on(no_variable: pytest.MonkeyPatch) -> None:
    assert parse_run_arguments(["s.py"]).opentelemetry_instrument is False
    assert parse_run_arguments(["s.py", "--opentelemetry-instrument"]).opentelemetry_instrument is True
    no_variable.setenv(VARIABLE, "1")
    assert parse_run_arguments(["s.py"]).opentelemetry_instrument is True
    no_variable.setenv(VARIABLE, "off")
    assert parse_run_arguments(["s.py"]).opentelemetry_instrument is False
    no_variable.setenv(VARIABLE, "maybe")
    with pytest.raises(UsageError, match=VARIABLE):
        parse_run_arguments(["s.py"])


def test_upstreams_form_before_the_command_runs_with_the_option(
    no_variable: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    seen: list[Sequence[str]] = []
    no_variable.setattr(cli, "run_command", lambda args: seen.append(list(args)) or 0)
    assert main(["--opentelemetry-instrument", "run", "app.py", "--production"]) == 0
    assert main(["--opentelemetry-instrument", "start", "app.py"]) == 0
    assert seen == [["app.py", "--production", "--opentelemetry-instrument"], ["app.py", "--opentelemetry-instrument"]]
    assert main(["--opentelemetry-instrument", "topology", "app.py"]) == 2
    assert "goes with the run command" in capsys.readouterr().err


def test_the_help_documents_the_option_and_its_variable(capsys: pytest.CaptureFixture[str]) -> None:
    main(["run", "--help"])
    help_text = capsys.readouterr().out
    assert "--opentelemetry-instrument" in help_text and VARIABLE in help_text


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _get(url: str, deadline: float, headers: dict[str, str]) -> bytes:
    while True:
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=2) as response:
                return bytes(response.read())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _run_and_request(tmp_path: Path, command: list[str], env: dict[str, str]) -> dict[str, Any]:
    """Start ``command`` (serving the hello-service of app.py), send one request with a traceparent, stop it with
    SIGINT; the span the console exporter printed."""
    port = _free_port()
    (tmp_path / "app.py").write_text(
        textwrap.dedent(
            f"""
            import tomodachi

            class Hello(tomodachi.Service):
                name = "hello-service"
                options = tomodachi.Options(http=tomodachi.Options.HTTP(host="127.0.0.1", port={port}))

                @tomodachi.http("GET", r"/hello")
                async def hello(self, request):
                    return "hello"
            """
        )
    )
    clean = {key: value for key, value in os.environ.items() if not key.startswith(("TOMODACHI_", "OTEL_"))}
    clean.update({"OTEL_TRACES_EXPORTER": "console", "PYTHONUNBUFFERED": "1", "NO_COLOR": "1", **env})
    process = subprocess.Popen(command, cwd=tmp_path, env=clean, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
        body = _get(f"http://127.0.0.1:{port}/hello", time.monotonic() + 20, {"traceparent": traceparent})
        assert body == b"hello"
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
    assert process.returncode == 0, err.decode()[-2000:]
    text = out.decode()
    span: dict[str, Any] = json.loads(text[text.index("{") :])
    assert span["name"] == "GET /hello"
    assert span["kind"] == "SpanKind.SERVER"
    assert span["context"]["trace_id"] == "0x0af7651916cd43dd8448eb211c80319c"
    assert span["attributes"]["http.response.status_code"] == 200
    return span


def test_a_run_with_the_option_exports_request_spans_named_after_the_service(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "tomodachi", "--opentelemetry-instrument", "run", "app.py", "--production"]
    span = _run_and_request(tmp_path, command, {})
    assert span["resource"]["attributes"]["service.name"] == "hello-service"
    assert span["resource"]["attributes"]["service.instance.id"]


def test_the_opentelemetry_instrument_command_instruments_a_run_too(tmp_path: Path) -> None:
    wrapper = Path(sys.executable).with_name("opentelemetry-instrument")
    if not wrapper.exists():
        pytest.skip("the opentelemetry-instrument command is not installed next to this interpreter")
    tomodachi_command = Path(sys.executable).with_name("tomodachi")
    command = [str(wrapper), str(tomodachi_command), "run", "app.py", "--production"]
    span = _run_and_request(tmp_path, command, {"OTEL_SERVICE_NAME": "named-by-env"})
    assert span["resource"]["attributes"]["service.name"] == "named-by-env"
