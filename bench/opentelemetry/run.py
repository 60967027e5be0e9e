"""OpenTelemetry overhead in one run: HTTP keep-alive requests/s and server CPU per request (wrk), in-memory AMQP
messages/s; off vs sampling off vs sampled (spans through a batch processor to an exporter that drops them). See
README.md here; run `.venv/bin/python bench/opentelemetry/run.py`."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import null_exporter

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
READY_TIMEOUT = 30.0
MODES = ("off", "sampling-off", "metrics-only", "sampled", "sampled+metrics")
# targets from the issue: overhead against "off"
TARGETS = {"sampling-off": 0.03, "sampled": 0.15}
# a metric reader that records every measurement but exports only once an hour (never during a sample)
METRICS_ENV = {"OTEL_METRICS_EXPORTER": "console", "OTEL_METRIC_EXPORT_INTERVAL": "3600000"}

HTTP_SERVICE = """
import os

import tomodachi


class Hello(tomodachi.Service):
    name = "otel-bench"
    options = tomodachi.Options(
        http=tomodachi.Options.HTTP(
            host="127.0.0.1", port=int(os.environ["BENCH_PORT"]), access_log=False, keepalive_timeout=30
        )
    )

    @tomodachi.http("GET", r"/hello")
    async def hello(self, request):
        return "hello"
"""

# what each mode adds to a clean environment: spans go through the SDK's BatchSpanProcessor (what every exporter
# runs behind) to an exporter that drops them, unless --exporter names another
SAMPLING_OFF = {
    "TOMODACHI_OPENTELEMETRY_INSTRUMENT": "1",
    "OTEL_TRACES_SAMPLER": "always_off",
    "OTEL_TRACES_EXPORTER": null_exporter.NAME,
}
SAMPLED = {
    "TOMODACHI_OPENTELEMETRY_INSTRUMENT": "1",
    "OTEL_TRACES_EXPORTER": null_exporter.NAME,
    "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
    "OTEL_TRACES_SAMPLER_ARG": "1.0",
}
HTTP_ENV = {
    "off": {},
    "sampling-off": SAMPLING_OFF,
    "metrics-only": {**SAMPLING_OFF, **METRICS_ENV},
    "sampled": SAMPLED,
    "sampled+metrics": {**SAMPLED, **METRICS_ENV},
}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _clean_env(extra: dict[str, str], folder: Path | None = None) -> dict[str, str]:
    """The environment of a service process: ``extra`` on a clean one; with ``folder`` (where ``null_exporter``
    was registered) the null exporter can be named."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TOMODACHI_", "OTEL_", "PYTHON"))}
    path = [str(REPO), *((str(HERE), str(folder)) if folder is not None else ())]
    return {**env, "PYTHONPATH": os.pathsep.join(path), **extra}


def _wait_ready(url: str, process: subprocess.Popen[bytes], started: float) -> float:
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"the service exited with {process.returncode} before it answered")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return time.monotonic() - started
        except OSError:
            pass
        if time.monotonic() - started > READY_TIMEOUT:
            raise RuntimeError(f"the service did not answer within {READY_TIMEOUT} s")
        time.sleep(0.01)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc): what a request costs the server, whatever else
    runs on the machine."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wrk(url: str, seconds: float, connections: int) -> tuple[float, int]:
    output = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", url],
        capture_output=True,
        text=True,
        timeout=seconds + 30,
        check=True,
    ).stdout
    found = re.search(r"Requests/sec:\s+([\d.]+)", output)
    total = re.search(r"(\d+) requests in", output)
    if found is None or total is None:
        raise RuntimeError(f"no Requests/sec in wrk's output:\n{output}")
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if errors:
        raise RuntimeError(f"{errors.group(1)} failed responses:\n{output}")
    return float(found.group(1)), int(total.group(1))


def http_sample(mode: str, service_file: Path, args: argparse.Namespace) -> tuple[float, float, float]:
    """One service process in ``mode``: (seconds to the first 200, requests/s under wrk, server CPU µs per
    request)."""
    port = _free_port()
    extra = {**HTTP_ENV[mode], "BENCH_PORT": str(port)}
    if mode != "off" and args.exporter:
        extra["OTEL_TRACES_EXPORTER"] = args.exporter
    command = [str(Path(sys.executable).with_name("tomodachi")), "run", str(service_file), "--production"]
    command += ["--logger", "disabled"]
    started = time.monotonic()
    process = subprocess.Popen(
        command,
        env=_clean_env(extra, service_file.parent),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/hello"
    try:
        ready = _wait_ready(url, process, started)
        _wrk(url, 1, args.connections)  # warm-up: connections, caches, the first spans
        cpu_before = _cpu_seconds(process.pid)
        rps, requests = _wrk(url, args.duration, args.connections)
        cpu = (_cpu_seconds(process.pid) - cpu_before) / max(1, requests) * 1e6
        return ready, rps, cpu
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


# -- in-memory AMQP, in this process --------------------------------------------------------------------------


def _amqp_service() -> type:
    import tomodachi
    from tomodachi.envelope import JsonBase

    class Consumer(tomodachi.Service):
        name = "otel-bench-consumer"
        message_envelope = JsonBase

        @tomodachi.amqp("bench.message", queue_name="otel-bench")
        async def consume(self, data: dict[str, Any]) -> None:
            return None

    return Consumer


def _instrument(mode: str) -> Callable[[], None]:
    """Instrumentation as a configured run has it (spans through a batch processor to the null exporter, a metric
    reader where ``mode`` has one), sampling as ``mode`` says; returns what takes it off again."""
    if mode == "off":
        return lambda: None
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON

    from tomodachi.opentelemetry import TomodachiInstrumentor

    sampler = ALWAYS_ON if mode.startswith("sampled") else ALWAYS_OFF
    readers = [InMemoryMetricReader()] if mode.endswith("metrics") or mode == "metrics-only" else []
    tracer_provider = TracerProvider(sampler=sampler, shutdown_on_exit=False)
    tracer_provider.add_span_processor(BatchSpanProcessor(null_exporter.NullSpanExporter()))
    instrumentor = TomodachiInstrumentor()
    instrumentor.instrument(
        tracer_provider=tracer_provider,
        meter_provider=MeterProvider(metric_readers=readers, shutdown_on_exit=False),
        skip_dep_check=True,
    )

    def undo() -> None:
        instrumentor.uninstrument()
        tracer_provider.shutdown()  # its batch processor's thread

    return undo


async def _amqp_run(service: type, messages: int) -> float:
    from tomodachi.testing import system

    async with system(service) as running:
        fake = running.fake_amqp
        started = time.perf_counter()
        for index in range(messages):
            await fake.publish("bench.message", {"n": index})
        await running.settle(timeout=300)
        return messages / (time.perf_counter() - started)


def amqp_sample(mode: str, messages: int) -> float:
    undo = _instrument(mode)
    try:
        return asyncio.run(_amqp_run(_amqp_service(), messages))
    finally:
        undo()


# -- start-up without the extra -------------------------------------------------------------------------------


def opentelemetry_modules_of_a_plain_start() -> list[str]:
    code = (
        "import sys, tomodachi, tomodachi.cli\n"
        "from tomodachi.runtime.container import ServiceContainer\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'opentelemetry'))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    return list(json.loads(result.stdout.strip().replace("'", '"')))


# -- report ---------------------------------------------------------------------------------------------------


def _overhead(baseline: float, value: float) -> float:
    return 1.0 - value / baseline if baseline else 0.0


def report(
    title: str,
    unit: str,
    samples: dict[str, list[float]],
    targets: dict[str, float] | None,
    *,
    rate: bool = True,
    decimals: int = 0,
) -> list[str]:
    """A table of medians; for a rate the overhead is the throughput lost against "off", for a time the time
    added."""
    medians = {mode: statistics.median(values) for mode, values in samples.items() if values}
    heading = "overhead vs off" if rate else "added vs off"
    lines = [f"## {title}", "", f"| mode | median {unit} | samples | {heading} | target |", "|---|---|---|---|---|"]
    for mode, median in medians.items():
        baseline = medians.get("off", 0.0)
        overhead = 0.0 if mode == "off" else (_overhead(baseline, median) if rate else median / baseline - 1)
        target = (targets or {}).get(mode)
        verdict = "" if target is None else f"≤ {target:.0%} {'✓' if overhead <= target else '✗'}"
        shown = ", ".join(f"{value:,.{decimals}f}" for value in samples[mode])
        lines.append(f"| {mode} | {median:,.{decimals}f} | {shown} | {overhead:+.1%} | {verdict} |")
    return [*lines, ""]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5, help="HTTP rounds (each runs every mode once, shuffled)")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds of wrk per sample")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--exporter", default="", help="OTEL_TRACES_EXPORTER for the instrumented modes")
    parser.add_argument("--amqp-rounds", type=int, default=5)
    parser.add_argument("--messages", type=int, default=5000, help="messages per AMQP sample")
    parser.add_argument("--modes", default=",".join(MODES), help=f"comma-separated, of {', '.join(MODES)}")
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument("--skip-amqp", action="store_true")
    parser.add_argument("--json", type=Path, help="also write every sample to this file")
    args = parser.parse_args(argv)
    if not args.skip_http and shutil.which("wrk") is None:
        parser.error("wrk is not installed (or use --skip-http)")
    modes = tuple(mode.strip() for mode in args.modes.split(",") if mode.strip())
    if set(modes) - set(MODES) or "off" not in modes:
        parser.error(f"--modes takes off and any of {', '.join(MODES[1:])}")

    results: dict[str, Any] = {"load_average_before": os.getloadavg()}
    lines = ["# OpenTelemetry overhead", ""]
    modules = opentelemetry_modules_of_a_plain_start()
    lines += [f"opentelemetry modules imported by a plain start: {len(modules)} {modules or ''}".rstrip(), ""]
    results["opentelemetry_modules_of_a_plain_start"] = modules
    if not args.skip_http:
        throughput: dict[str, list[float]] = {mode: [] for mode in modes}
        ready: dict[str, list[float]] = {mode: [] for mode in modes}
        cpu: dict[str, list[float]] = {mode: [] for mode in modes}
        with tempfile.TemporaryDirectory() as folder:
            service_file = Path(folder) / "otel_bench_service.py"
            service_file.write_text(textwrap.dedent(HTTP_SERVICE))
            null_exporter.register(Path(folder))
            for _ in range(args.rounds):
                for mode in random.sample(modes, len(modes)):
                    seconds, rps, cpu_us = http_sample(mode, service_file, args)
                    ready[mode].append(seconds * 1000)
                    throughput[mode].append(rps)
                    cpu[mode].append(cpu_us)
        lines += report("HTTP keep-alive GET /hello (wrk)", "requests/s", throughput, TARGETS)
        lines += report("HTTP: server CPU time per request", "µs", cpu, TARGETS, rate=False, decimals=1)
        lines += report("Start-up: `tomodachi run` to the first 200", "ms", ready, None, rate=False)
        results["http_requests_per_second"], results["ready_ms"] = throughput, ready
        results["http_cpu_us_per_request"] = cpu
    if not args.skip_amqp:
        rates: dict[str, list[float]] = {mode: [] for mode in modes}
        for _ in range(args.amqp_rounds):
            for mode in random.sample(modes, len(modes)):
                rates[mode].append(amqp_sample(mode, args.messages))
        lines += report(f"In-memory AMQP, {args.messages} messages per sample", "messages/s", rates, None)
        results["amqp_messages_per_second"] = rates
    results["load_average_after"] = os.getloadavg()
    lines.append(f"load average before / after: {results['load_average_before']} / {results['load_average_after']}")
    print("\n".join(lines))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
