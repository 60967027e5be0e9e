"""Upstream tomodachi 0.29.0 with its OpenTelemetry extra, run as an instrumented subprocess: its cached virtualenv,
its environment (console span exporter), the spans it prints and the records its service writes."""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import re
import subprocess
import sys
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import pytest

UPSTREAM_VERSION = "0.29.0"
VENV_ENV = "TOMODACHI_UPSTREAM_OTEL_VENV"
# pkg_resources (imported by upstream's distro) ships with setuptools only; a Python >= 3.12 venv has none
INSTALL = [f"tomodachi[opentelemetry]=={UPSTREAM_VERSION}", "setuptools<80"]
WAIT = 20.0  # the longest one wait for the upstream process may take (real seconds)
W3C_TRACEPARENT = re.compile(r"^00-(?P<trace_id>[0-9a-f]{32})-(?P<span_id>[0-9a-f]{16})-(?P<flags>[0-9a-f]{2})$")
# a span as the console exporter prints it: one indented JSON object per span
_SPAN_START = re.compile(r'^\{\n {4}"name": ', re.MULTILINE)


def on_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def skip_or_fail(reason: str) -> NoReturn:
    """Skip on a laptop; with ``CI=true`` fail, so a missing service never passes a CI run silently."""
    if on_ci():
        pytest.fail(reason)
    pytest.skip(reason)


def venv_dir() -> Path:
    configured = os.environ.get(VENV_ENV)
    return Path(configured) if configured else Path.home() / ".cache" / "tomodachi-upstream-otel-venv"


def _scripts_start(python: Path) -> bool:
    """Whether the virtualenv's ``tomodachi`` script names an interpreter that exists (a moved venv's does not)."""
    try:
        first_line = (python.parent / "tomodachi").read_text(errors="replace").splitlines()[0]
    except (OSError, IndexError):
        return False
    return first_line.startswith("#!") and Path(first_line[2:].split()[0]).exists()


def _has_upstream(python: Path) -> bool:
    if not python.exists() or not _scripts_start(python):
        return False
    check = (
        "import importlib.metadata as m, opentelemetry.sdk, pkg_resources, tomodachi.opentelemetry; "
        "print(m.version('tomodachi'))"
    )
    result = subprocess.run([str(python), "-c", check], capture_output=True, text=True, timeout=60)
    return result.returncode == 0 and result.stdout.strip().splitlines()[-1:] == [UPSTREAM_VERSION]


def upstream_otel_python() -> Path:
    """Python of a virtualenv with ``tomodachi[opentelemetry]==0.29.0`` from PyPI, created on first use (one creator
    at a time: others wait on a lock file beside it) and cached; built in place, as its scripts name it by path."""
    venv = venv_dir()
    python = venv / "bin" / "python"
    if _has_upstream(python):
        return python
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.parent / f".{venv.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _has_upstream(python):
            subprocess.run(
                [sys.executable, "-m", "venv", "--clear", str(venv)], check=True, capture_output=True, timeout=300
            )
            subprocess.run(
                [str(python), "-m", "pip", "install", "-q", *INSTALL], check=True, capture_output=True, timeout=600
            )
    if not _has_upstream(python):
        raise RuntimeError(f"could not prepare upstream tomodachi[opentelemetry] {UPSTREAM_VERSION} in {venv}")
    return python


def upstream_environment(service_name: str, extra: Mapping[str, str]) -> dict[str, str]:
    """The subprocess' environment: ours without Python path settings or OpenTelemetry configuration, then spans to
    the console exporter (exported every 50 ms), no metrics or log export, and ``extra``."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME") and not key.startswith("OTEL_")
    }
    env.update(
        {
            "OTEL_TRACES_EXPORTER": "console",
            "OTEL_METRICS_EXPORTER": "none",
            "OTEL_LOGS_EXPORTER": "none",
            "OTEL_SERVICE_NAME": service_name,
            "OTEL_BSP_SCHEDULE_DELAY": "50",
            "PYTHONUNBUFFERED": "1",
            **extra,
        }
    )
    return env


@dataclass(frozen=True)
class ConsoleSpan:
    """One span from the console exporter's output (ids as integers, kind as ``"CONSUMER"``, ``"PRODUCER"``…)."""

    name: str
    kind: str
    trace_id: int
    span_id: int
    parent_id: int | None
    attributes: dict[str, Any] = field(default_factory=dict)
    service_name: str = ""

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ConsoleSpan:
        parent = data.get("parent_id")
        return cls(
            name=str(data["name"]),
            kind=str(data["kind"]).rsplit(".", 1)[-1],
            trace_id=int(data["context"]["trace_id"], 16),
            span_id=int(data["context"]["span_id"], 16),
            parent_id=int(parent, 16) if parent else None,
            attributes=dict(data.get("attributes") or {}),
            service_name=str(((data.get("resource") or {}).get("attributes") or {}).get("service.name", "")),
        )


def console_spans(output: str) -> list[ConsoleSpan]:
    """The spans in a process' output, which interleaves them with its log lines; a span still being written is
    left for the next read."""
    decoder = json.JSONDecoder()
    spans: list[ConsoleSpan] = []
    for match in _SPAN_START.finditer(output):
        try:
            data, _ = decoder.raw_decode(output, match.start())
        except json.JSONDecodeError:
            continue
        if isinstance(data, dict) and "context" in data:
            spans.append(ConsoleSpan.from_json(data))
    return spans


class UpstreamProcess:
    """The upstream service subprocess: its output (log lines and console spans) and its record file."""

    def __init__(self, process: asyncio.subprocess.Process, output: Path, records: Path) -> None:
        self.process = process
        self.output = output
        self.records_file = records

    def output_text(self) -> str:
        return self.output.read_text(errors="replace") if self.output.exists() else ""

    def spans(self) -> list[ConsoleSpan]:
        return console_spans(self.output_text())

    def records(self) -> list[dict[str, Any]]:
        if not self.records_file.exists():
            return []
        return [json.loads(line) for line in self.records_file.read_text().splitlines() if line.strip()]

    async def _poll(self, find: Callable[[], Any], what: str, timeout: float) -> Any:
        """Poll what the other process wrote until ``find`` returns something, bounded by ``timeout``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            found = find()
            if found:
                return found
            if self.process.returncode is not None:
                pytest.fail(f"upstream service exited ({self.process.returncode}) before {what}:\n{self.tail()}")
            if loop.time() >= deadline:
                pytest.fail(f"upstream service: no {what} within {timeout:g}s; its output:\n{self.tail()}")
            await asyncio.sleep(0.05)

    async def wait_for_record(
        self, predicate: Callable[[dict[str, Any]], bool], what: str, timeout: float = WAIT
    ) -> dict[str, Any]:
        return await self._poll(lambda: next((r for r in self.records() if predicate(r)), None), what, timeout)  # type: ignore[no-any-return]

    async def wait_for_records(
        self, predicate: Callable[[dict[str, Any]], bool], count: int, what: str, timeout: float = WAIT
    ) -> list[dict[str, Any]]:
        def matching() -> list[dict[str, Any]] | None:
            found = [r for r in self.records() if predicate(r)]
            return found if len(found) >= count else None

        return await self._poll(matching, what, timeout)  # type: ignore[no-any-return]

    async def wait_for_span(
        self, predicate: Callable[[ConsoleSpan], bool], what: str, timeout: float = WAIT
    ) -> ConsoleSpan:
        return await self._poll(lambda: next((s for s in self.spans() if predicate(s)), None), what, timeout)  # type: ignore[no-any-return]

    def tail(self, characters: int = 6000) -> str:
        return self.output_text()[-characters:]

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), 15)
            except asyncio.TimeoutError:
                self.process.kill()
                await self.process.wait()


async def start_upstream(
    python: Path, source: str, folder: Path, service_name: str, extra_env: Mapping[str, str]
) -> UpstreamProcess:
    """Run ``source`` as ``tomodachi run --opentelemetry-instrument --production`` in ``folder`` with upstream's
    console span exporter; the service finds its record file in ``INTEROP_RECORDS``."""
    service_file, output, records = folder / "upstream_otel_svc.py", folder / "upstream.out", folder / "records.jsonl"
    service_file.write_text(source)
    env = upstream_environment(service_name, {"INTEROP_RECORDS": str(records), **extra_env})
    with output.open("wb") as output_file:
        process = await asyncio.create_subprocess_exec(
            str(python.parent / "tomodachi"),
            "run",
            "--opentelemetry-instrument",  # upstream takes it after `run`, not before
            "--production",
            service_file.name,  # upstream cannot import a service file given by absolute path
            cwd=str(folder),
            env=env,
            stdout=output_file,
            stderr=subprocess.STDOUT,
        )
    return UpstreamProcess(process, output, records)


# the ``upstream`` fixture: starts the upstream service (its source, extra environment variables)
StartUpstream = Callable[[str, dict[str, str]], Awaitable[UpstreamProcess]]


def traceparent_ids(value: Any) -> tuple[int, int]:
    """(trace id, span id) of a W3C ``traceparent`` value; an AssertionError when it is not one (or not text)."""
    assert isinstance(value, str), f"traceparent must be text, not {type(value).__name__}: {value!r}"
    match = W3C_TRACEPARENT.match(value)
    assert match is not None, f"not a W3C traceparent: {value!r}"
    return int(match["trace_id"], 16), int(match["span_id"], 16)


def key_shape(value: Any) -> Any:
    """The keys of a JSON document, nested, without its values: two envelopes of one format have the same shape."""
    if isinstance(value, dict):
        return {key: key_shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [key_shape(item) for item in value]
    return type(value).__name__
