"""Hot-path benchmark plumbing: contenders, service processes, readiness polls, RabbitMQ admin and wrk."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import aioamqp

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
# copied into the run's working folder: upstream's `tomodachi run` only takes a file relative to the cwd, and it
# puts the cwd on sys.path, which must not be this repository (its `tomodachi` package is ours)
RUN_FILES = ("amqp_consumer.py", "amqp_publisher.py", "http_service.py", "raw_amqp.py", "raw_http.py", "echo.lua")
STOP_TIMEOUT = 10.0
READY_TIMEOUT = 30.0
VERSIONS_PROBE = """
import importlib.metadata as m, json, platform
found = {"python": platform.python_version()}
for name in ("tomodachi", "aiohttp", "aioamqp", "uvloop"):
    try:
        found[name] = m.version(name)
    except m.PackageNotFoundError:
        found[name] = None
try:
    import tomodachi
    found["tomodachi_file"] = tomodachi.__file__
except ImportError:
    pass
print(json.dumps(found))
"""


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Contender:
    """``ours`` / ``upstream`` run the same service files with their venv's `tomodachi run`; ``raw`` runs
    raw_http.py / raw_amqp.py with our venv's interpreter (the same aiohttp and aioamqp as ours)."""

    name: str
    python: Path
    source_prefix: str = ""  # where the service's tomodachi.__file__ must be (proves which build runs)

    @property
    def is_raw(self) -> bool:
        return self.name == "raw"

    def tomodachi_command(self, service_file: str, loop: str) -> list[str]:
        cli = self.python.parent / "tomodachi"
        return [str(cli), "run", "--production", "--loop", loop, service_file]

    def raw_command(self, script: str, *args: str) -> list[str]:
        return [str(self.python), script, *args]

    def check_source(self, tomodachi_file: str | None) -> None:
        if self.source_prefix and not str(tomodachi_file or "").startswith(self.source_prefix):
            raise RuntimeError(f"{self.name}: service ran tomodachi from {tomodachi_file}, not {self.source_prefix}")


def versions(python: Path) -> dict[str, Any]:
    result = subprocess.run([str(python), "-I", "-c", VERSIONS_PROBE], capture_output=True, text=True, check=True)
    found: dict[str, Any] = json.loads(result.stdout)
    return found


def ensure_upstream_venv(venv: Path, version: str, pins: dict[str, str | None]) -> Path:
    """Create ``venv`` with upstream tomodachi ``version`` and uvloop (once); return its interpreter. aiohttp,
    aioamqp and uvloop are pinned to ``pins`` (our venv's versions) so that only the framework differs."""
    python = venv / "bin" / "python"
    if python.exists():
        with contextlib.suppress(subprocess.CalledProcessError, json.JSONDecodeError):
            found = versions(python)
            if found.get("tomodachi") == version and found.get("uvloop"):
                return python
    requirements = [f"tomodachi=={version}"] + [f"{k}=={v}" if v else k for k, v in pins.items()]
    log(f"creating {venv}: pip install {' '.join(requirements)} ...")
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    if subprocess.run(pip + requirements).returncode != 0:
        log("pinned install failed; installing unpinned")
        subprocess.run(pip + [f"tomodachi=={version}", *pins], check=True)
    return python


def prepare_workdir(folder: Path) -> None:
    for name in RUN_FILES:
        shutil.copy(HERE / name, folder / name)


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TOMODACHI_", "PYTHON", "BENCH_"))}
    env.pop("VIRTUAL_ENV", None)
    env.update(extra)
    return env


def _open_log(path: Path) -> IO[bytes]:
    return open(path, "wb")  # handed to the child; closed in Proc.stop


def read_json(path: Path) -> dict[str, Any] | None:
    try:
        found: dict[str, Any] = json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    return found


class Proc:
    """A child process in its own session (so a signal reaches what it spawns), output to a log file."""

    def __init__(
        self, label: str, command: list[str], env: dict[str, str], workdir: Path, cpus: frozenset[int] = frozenset()
    ) -> None:
        self.label = label
        self.cpus = cpus
        self.command = command
        self.env = env
        self.workdir = workdir
        self.log_path = workdir / f"{label}.{time.monotonic_ns()}.log"
        self.process: asyncio.subprocess.Process | None = None
        self._log: IO[bytes] | None = None
        self.started_at = 0.0

    async def start(self) -> Proc:
        self._log = _open_log(self.log_path)
        self.started_at = time.time()
        self.process = await asyncio.create_subprocess_exec(
            *self.command,
            cwd=self.workdir,
            env=self.env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=self._log,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=pinned_to(self.cpus),
        )
        return self

    def alive(self) -> bool:
        return self.process is not None and self.process.returncode is None

    def check_alive(self) -> None:
        if not self.alive():
            code = self.process.returncode if self.process else None
            raise RuntimeError(f"{self.label} exited ({code}):\n{self.log_tail()}")

    def log_tail(self, chars: int = 1500) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except FileNotFoundError:
            return ""

    async def stop(self) -> None:
        """SIGINT (graceful stop in both builds), then SIGKILL after STOP_TIMEOUT; to our own child's group only."""
        process = self.process
        if process is not None and process.returncode is None:
            for signum in (signal.SIGINT, signal.SIGKILL):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signum)
                try:
                    await asyncio.wait_for(process.wait(), STOP_TIMEOUT)
                    break
                except asyncio.TimeoutError:
                    log(f"{self.label} did not stop on SIGINT within {STOP_TIMEOUT:.0f} s; killing")
        if self._log is not None:
            self._log.close()
            self._log = None


async def wait_until(what: str, check: Any, timeout: float, procs: tuple[Proc, ...] = (), poll: float = 0.02) -> Any:
    """Poll ``await check()`` until it returns something truthy; bounded by ``timeout``; fails early if one of
    ``procs`` has died."""
    deadline = time.monotonic() + timeout
    while True:
        found = await check()
        if found:
            return found
        if not all(proc.alive() for proc in procs):
            found = await check()  # it may have written its result just before exiting
            if found:
                return found
            for proc in procs:
                proc.check_alive()
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        await asyncio.sleep(poll)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def http_get(port: int, path: str) -> tuple[int, str] | None:
    """One ``GET path`` on 127.0.0.1:port (Connection: close): (status, body), or None if nothing answers."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 1.0)
    except (OSError, asyncio.TimeoutError):
        return None
    try:
        writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
        raw = await asyncio.wait_for(reader.read(), 2.0)
    except (OSError, asyncio.TimeoutError):
        return None
    finally:
        writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    match = re.match(rb"HTTP/1\.[01] (\d{3})", head)
    return (int(match.group(1)), body.decode(errors="replace")) if match else None


async def wait_http_ready(proc: Proc, port: int) -> str:
    """Polls ``GET /version`` until 200; returns its body (the serving tomodachi's version and file)."""

    async def ready() -> str | None:
        found = await http_get(port, "/version")
        return found[1] if found and found[0] == 200 else None

    body: str = await wait_until(f"{proc.label} to answer GET /version", ready, READY_TIMEOUT, (proc,), poll=0.05)
    return body


WRK_RATE = re.compile(r"Requests/sec:\s+([\d.]+)")
WRK_TOTAL = re.compile(r"(\d+) requests in")
WRK_SOCKET = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")
WRK_NON_2XX = re.compile(r"Non-2xx or 3xx responses: (\d+)")


def parse_wrk(output: str) -> dict[str, Any]:
    rate = WRK_RATE.search(output)
    if rate is None:
        raise RuntimeError(f"unexpected wrk output:\n{output[-1500:]}")
    total = WRK_TOTAL.search(output)
    socket_errors = WRK_SOCKET.search(output)
    non_2xx = WRK_NON_2XX.search(output)
    return {
        "rate": float(rate.group(1)),
        "requests": int(total.group(1)) if total else None,
        "socket_errors": dict(
            zip(("connect", "read", "write", "timeout"), map(int, socket_errors.groups()), strict=True)
        )
        if socket_errors
        else {},
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
    }


def http_cpus() -> tuple[frozenset[int], frozenset[int]]:
    """(server CPUs, wrk CPUs) for pinned HTTP runs: the server alone on the last CPU this process may use, wrk
    on the others; empty sets (nothing pinned) where affinity cannot be set or there is one CPU."""
    if not hasattr(os, "sched_getaffinity"):
        return frozenset(), frozenset()
    allowed = sorted(os.sched_getaffinity(0))
    if len(allowed) < 2:
        return frozenset(), frozenset()
    return frozenset(allowed[-1:]), frozenset(allowed[:-1])


def pinned_to(cpus: frozenset[int]) -> Callable[[], None] | None:
    """A ``preexec_fn`` that pins the child to ``cpus`` (None when there is nothing to pin)."""
    if not cpus:
        return None
    return lambda: os.sched_setaffinity(0, cpus)


async def wrk(
    url: str, *, seconds: int, connections: int, threads: int, script: Path | None, cpus: frozenset[int] = frozenset()
) -> dict[str, Any]:
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s"]
    if script is not None:
        command += ["-s", str(script)]
    process = await asyncio.create_subprocess_exec(
        *command, url, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, preexec_fn=pinned_to(cpus)
    )
    out, _ = await asyncio.wait_for(process.communicate(), seconds + 30)
    if process.returncode != 0:
        raise RuntimeError(f"wrk failed ({process.returncode}):\n{out.decode(errors='replace')[-1500:]}")
    return parse_wrk(out.decode(errors="replace"))


class Rabbit:
    """The runner's own AMQP connection: queue depth and consumers (passive declare), delete, pre-fill."""

    def __init__(self, host: str, port: int, login: str, password: str) -> None:
        self.params = {"host": host, "port": port, "login": login, "password": password}
        self.protocol: Any = None
        self.transport: Any = None

    @property
    def server_version(self) -> str:
        properties = getattr(self.protocol, "server_properties", None) or {}
        version = properties.get("version", "?")
        return version.decode() if isinstance(version, bytes) else str(version)

    async def open(self) -> None:
        self.transport, self.protocol = await aioamqp.connect(**self.params)

    async def close(self) -> None:
        if self.protocol is not None:
            with contextlib.suppress(Exception):
                await self.protocol.close()
            self.transport.close()

    async def queue_state(self, queue: str) -> tuple[int, int] | None:
        """(ready messages, consumers), or None when the queue does not exist."""
        channel = await self.protocol.channel()
        try:
            found = await channel.queue_declare(queue, passive=True)
        except aioamqp.exceptions.ChannelClosed:
            return None
        with contextlib.suppress(Exception):
            await channel.close()
        return int(found.get("message_count") or 0), int(found.get("consumer_count") or 0)

    async def delete(self, *queues: str) -> None:
        for queue in queues:
            channel = await self.protocol.channel()
            with contextlib.suppress(aioamqp.exceptions.ChannelClosed):
                await channel.queue_delete(queue)
                await channel.close()

    async def prefill(self, queue: str, arguments: dict[str, Any], count: int, body: bytes) -> None:
        """Declares ``queue`` (durable, as the services do) and publishes ``count`` persistent messages to it
        through the default exchange; returns once the broker reports them all ready."""
        channel = await self.protocol.channel()
        await channel.queue_declare(queue, durable=True, arguments=arguments)
        properties = {"delivery_mode": 2, "content_type": "text/plain; charset=utf-8"}
        for _ in range(count):
            await channel.basic_publish(body, exchange_name="", routing_key=queue, properties=properties)
        await channel.close()

        async def filled() -> bool:
            state = await self.queue_state(queue)
            return state is not None and state[0] >= count

        await wait_until(f"{count} messages in {queue}", filled, 30 + count / 1000, poll=0.1)
