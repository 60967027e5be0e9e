"""Phase (a) of ``run_upstream_corpus.py``: run every upstream service file with our ``tomodachi run --production``,
bounded, and classify it (started / failed to start / exited by itself), checking cheap, self-evident
expectations (a log line the file's own code writes, an HTTP answer, an exit code)."""

from __future__ import annotations

import re
import subprocess
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from corpus_common import TOMODACHI, end_process, first_error_line, strip_timestamp

STARTED_TEXT = "started service successfully"
SERVICE_CLASS = re.compile(r"^class \w+\((tomodachi\.)?Service\)|^@tomodachi\.service\b", re.MULTILINE)


@dataclass(frozen=True)
class Probe:
    """An HTTP GET made once the service has started: expected status and (optionally) a body substring."""

    port: int
    path: str
    status: int
    body: str = ""


@dataclass(frozen=True)
class Expectation:
    """What the file's own code or comments make clear: ``outcome`` is "run", "exit" or "fail"."""

    outcome: str = "run"
    exit_code: int | None = None
    log_lines: tuple[str, ...] = ()
    probes: tuple[Probe, ...] = ()
    note: str = ""


def _received(*functions: str) -> tuple[str, ...]:
    return tuple(f"Received data (function: {name}" for name in functions)


EXPECTATIONS: dict[str, Expectation] = {
    "examples/basic_examples/amqp_service.py": Expectation(
        log_lines=_received("route1a", "route1b", "route2", "wildcard_route")
    ),
    "examples/basic_examples/amqp_middleware_service.py": Expectation(
        log_lines=(*_received("route1a"), "middleware before", "middleware after")
    ),
    "examples/basic_examples/aws_sns_sqs_service.py": Expectation(log_lines=_received("route1a", "route1b", "route2")),
    "examples/basic_examples/aws_sns_sqs_service_localstack.py": Expectation(
        log_lines=_received("route1a", "route1b", "route2"), note="hard-codes http://localhost:4567 as endpoint"
    ),
    "examples/basic_examples/aws_sns_sqs_fifo_service.py": Expectation(
        log_lines=('function: route) - "1"', 'function: route) - "2"', 'function: route) - "3"')
    ),
    "examples/basic_examples/aws_sns_sqs_middleware_service.py": Expectation(
        log_lines=(
            "handler -- route(data='a simple message'",
            "kwarg_abc (expect 4711) = 4711",
            "another_value (expect 42) = 42",
        ),
        note="hard-codes http://localhost:4567 as endpoint",
    ),
    "examples/basic_examples/scheduler_example.py": Expectation(
        log_lines=("Heartbeat", "Every 20 seconds and immediately")
    ),
    "examples/basic_examples/http_simple_service.py": Expectation(
        probes=(Probe(4711, "/example", 200, "友達"), Probe(4711, "/no-such-route", 404, "error 404"))
    ),
    "examples/basic_examples/http_middleware_service.py": Expectation(
        log_lines=("middleware before", "middleware after"), probes=(Probe(4711, "/example/1", 200, "友達 (id: 1)"),)
    ),
    "examples/basic_examples/http_basic_auth_middleware.py": Expectation(probes=(Probe(4711, "/", 401),)),
    "examples/basic_examples/http_auth_service.py": Expectation(probes=(Probe(4711, "/get-token", 200),)),
    "examples/basic_examples/websockets/websocket_service.py": Expectation(probes=(Probe(4711, "/", 200),)),
    "examples/docker_example/http_service/app/service.py": Expectation(
        probes=(Probe(31337, "/health", 200, "healthy"), Probe(31337, "/", 200, "hello world!"))
    ),
    "examples/pubsub_example/service_send_message.py": Expectation(log_lines=("Publishing message",)),
    "examples/pubsub_example/service_a.py": Expectation(log_lines=("Subscribing to messages",)),
    "tests/services/auto_closing_service_exit_call.py": Expectation("exit", 0),
    "tests/services/auto_closing_service_exit_code_1.py": Expectation("exit", 1),
    "tests/services/auto_closing_service_exit_code_128.py": Expectation("exit", 128),
    "tests/services/auto_closing_service_sigint.py": Expectation("exit", 0),
    "tests/services/auto_closing_service_sigterm.py": Expectation("exit", 0),
    "tests/services/exception_service.py": Expectation("fail", 1, log_lines=("fail in _start_service()",)),
    "tests/services/exception_service_init.py": Expectation("fail", 1, log_lines=("fail in __init__()",)),
    "tests/services/syntax_error_service.py": Expectation("fail", 1),
    "tests/services/import_error_service.py": Expectation("fail", 1),
    "tests/services/invalid_service.py": Expectation("fail", 1),
    "tests/services/amqp_service_invalid_credentials.py": Expectation("fail", 1),
    "tests/services/aws_sns_sqs_service_invalid_credentials.py": Expectation(
        "fail", 1, note="moto accepts any credentials, so this cannot fail against moto"
    ),
    "tests/services/empty_service.py": Expectation("exit", 0, note="upstream: no handlers, service stops by itself"),
    "tests/services/non_decorated_service.py": Expectation("exit", 0, note="upstream: plain class, exits"),
    "tests/services/os/os.py": Expectation("fail", note="upstream raises ServicePackageError (reserved module name)"),
}


@dataclass
class ServiceResult:
    path: str
    status: str  # "started", "failed", "exited"
    exit_code: int | None
    seconds: float
    error: str = ""
    checks: list[str] = field(default_factory=list)  # "ok: ..." / "MISSING: ..." / "UNEXPECTED: ..."
    log_file: str = ""

    @property
    def problems(self) -> list[str]:
        return [check for check in self.checks if not check.startswith("ok:")]


def discover(stage: Path) -> list[tuple[str, Path, str]]:
    """(relative path, cwd, argument) for every service-like .py under examples/ and tests/services/.

    A file counts if it defines a service class, or its name says it is a service (upstream keeps broken
    services there on purpose: syntax errors, import errors, plain classes). The cwd is the checkout root
    (how upstream's tests and READMEs run them), except for the docker example, which runs inside its app dir."""
    found: list[tuple[str, Path, str]] = []
    for folder in ("examples", "tests/services"):
        for file in sorted((stage / folder).rglob("*.py")):
            rel = file.relative_to(stage).as_posix()
            if file.name == "__init__.py" or "__pycache__" in rel:
                continue
            text = file.read_text(encoding="utf-8", errors="replace")
            if not (SERVICE_CLASS.search(text) or "service" in file.stem):
                continue
            if "docker_example" in rel:
                found.append((rel, file.parent, file.name))
            else:
                found.append((rel, stage, rel))
    return found


def expectation_for(rel: str, text: str) -> Expectation:
    if rel in EXPECTATIONS:
        return EXPECTATIONS[rel]
    if "tomodachi.exit(" in text or "os.kill(" in text:
        return Expectation("exit", 0, note="the file calls tomodachi.exit() / os.kill() itself")
    return Expectation()


def _probe(probe: Probe) -> str:
    url = f"http://127.0.0.1:{probe.port}{probe.path}"
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            status, body = response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        status, body = exc.code, exc.read().decode("utf-8", "replace")
    except (urllib.error.URLError, OSError) as exc:
        return f"UNEXPECTED: GET {probe.path} -> {exc}"
    if status != probe.status or (probe.body and probe.body not in body):
        return f"UNEXPECTED: GET {probe.path} -> {status} {body[:80]!r} (expected {probe.status} {probe.body!r})"
    return f"ok: GET {probe.path} -> {status}"


def run_one(rel: str, cwd: Path, arg: str, env: dict[str, str], bound: float, log_dir: Path) -> ServiceResult:
    stage_file = cwd / arg
    expect = expectation_for(rel, stage_file.read_text(encoding="utf-8", errors="replace"))
    lines: list[str] = []
    started_at = time.monotonic()
    proc = subprocess.Popen(
        [TOMODACHI, "run", "--production", arg],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )

    def _reader() -> None:
        assert proc.stdout is not None
        for raw in iter(proc.stdout.readline, b""):
            lines.append(raw.decode("utf-8", "replace").rstrip("\n"))

    reader = threading.Thread(target=_reader, daemon=True)
    reader.start()
    probe_results: list[str] = []
    deadline = started_at + bound
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if expect.probes and not probe_results and any(STARTED_TEXT in line for line in lines):
                time.sleep(0.3)
                probe_results = [_probe(probe) for probe in expect.probes]
            time.sleep(0.1)
    finally:
        exited_by_itself = proc.poll() is not None
        exit_code = end_process(proc)
        reader.join(timeout=5)
    elapsed = time.monotonic() - started_at
    output = "\n".join(lines)
    log_file = log_dir / (rel.replace("/", "__") + ".log")
    log_file.write_text(output, encoding="utf-8")
    started = STARTED_TEXT in output
    if exited_by_itself:
        status = "exited" if started or exit_code == 0 else "failed"
    else:
        status = "started" if started else "failed"
    error = first_error_line(output)
    if status == "failed" and not error:
        tail = [strip_timestamp(line) for line in lines if line.strip()]
        error = tail[-1] if tail else f"no output; no {STARTED_TEXT!r} within {bound:g} s"
    checks = _checks(expect, status, exit_code if exited_by_itself else None, output) + probe_results
    if expect.probes and not probe_results:
        checks.append("MISSING: HTTP probes not run (service never reported it started)")
    if expect.note:
        checks.append(f"note: {expect.note}")
    return ServiceResult(rel, status, exit_code if exited_by_itself else None, elapsed, error, checks, str(log_file))


def _checks(expect: Expectation, status: str, exit_code: int | None, output: str) -> list[str]:
    checks: list[str] = []
    wanted = {"run": "started", "exit": "exited", "fail": "failed"}[expect.outcome]
    if status == wanted:
        checks.append(f"ok: {status} as expected")
    else:
        checks.append(f"UNEXPECTED: {status} (expected {wanted})")
    if expect.exit_code is not None and exit_code is not None and exit_code != expect.exit_code:
        checks.append(f"UNEXPECTED: exit code {exit_code} (expected {expect.exit_code})")
    for text in expect.log_lines:
        checks.append(f"ok: logged {text!r}" if text in output else f"MISSING: log line {text!r}")
    return checks
