"""Wire compatibility with upstream tomodachi 0.29.0 (from PyPI, in its own virtualenv, run as a subprocess):
it publishes to our service and our service publishes to it, on a shared custom exchange."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from amqp_support import AMQP_HOST, AMQP_PORT, WAIT, Counter, Names, Probe

import tomodachi
from tomodachi.envelope import JsonBase
from tomodachi.messaging.amqp.naming import queue_name
from tomodachi.testing.harness import ServiceHarness

UPSTREAM_VERSION = "0.29.0"


def _venv_dir() -> Path:
    configured = os.environ.get("TOMODACHI_UPSTREAM_VENV")
    if configured:
        return Path(configured)
    return Path.home() / ".cache" / "tomodachi-upstream-venv"


def _has_upstream(python: Path) -> bool:
    if not python.exists():
        return False
    check = [str(python), "-c", f"import tomodachi, sys; sys.exit(tomodachi.__version__ != {UPSTREAM_VERSION!r})"]
    return subprocess.run(check, capture_output=True, timeout=60).returncode == 0


@pytest.fixture(scope="session")
def upstream_python(rabbitmq: tuple[str, int]) -> Iterator[Path]:
    """The interpreter of a cached virtualenv with tomodachi==0.29.0 from PyPI (created on first use)."""
    venv = _venv_dir()
    python = venv / "bin" / "python"
    if not _has_upstream(python):
        try:
            subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True, timeout=120)
            subprocess.run(
                [str(python), "-m", "pip", "install", "--quiet", f"tomodachi=={UPSTREAM_VERSION}"],
                check=True,
                capture_output=True,
                timeout=600,
            )
        except (subprocess.SubprocessError, OSError) as exc:
            detail = getattr(exc, "stderr", b"") or b""
            message = f"could not install upstream tomodachi {UPSTREAM_VERSION} into {venv}: {exc} {detail[-2000:]!r}"
            if os.environ.get("CI", "").lower() == "true":
                pytest.fail(message)
            pytest.skip(message)
    yield python


UPSTREAM_SERVICE = """
import json
import tomodachi
from tomodachi.envelope import JsonBase

OUT = {out!r}


def record(entry):
    with open(OUT, "a") as f:
        f.write(json.dumps(entry) + "\\n")


class Upstream(tomodachi.Service):
    name = "upstream-interop"
    message_envelope = JsonBase
    options = tomodachi.Options(amqp={{
        "host": {host!r}, "port": {port}, "exchange_name": {exchange!r},
        "queue_name_prefix": {prefix!r}, "queue_ttl": 300,
    }})

    @tomodachi.amqp("interop.to-upstream")
    async def received(self, data, metadata):
        record({{"received": data, "from": metadata.get("message_uuid", "")}})

    @tomodachi.amqp("interop.shared", competing=True)
    async def shared(self, data):
        record({{"shared": data}})

    async def _started_service(self):
        await tomodachi.amqp_publish(self, {{"hello": "from upstream"}}, routing_key="interop.to-ours")
        record({{"ready": True, "uuid": self.uuid}})
"""


class UpstreamProcess:
    def __init__(self, process: asyncio.subprocess.Process, out: Path, log: Path) -> None:
        self.process = process
        self.out = out
        self.log = log

    def entries(self) -> list[dict[str, Any]]:
        if not self.out.exists():
            return []
        return [json.loads(line) for line in self.out.read_text().splitlines() if line.strip()]

    async def wait_for_entry(self, predicate: Any, what: str, timeout: float = WAIT) -> dict[str, Any]:
        """Poll the service's record file (it is another process) until an entry matches, bounded."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            for entry in self.entries():
                if predicate(entry):
                    return entry
            if self.process.returncode is not None:
                break
            await asyncio.sleep(0.05)
        pytest.fail(f"upstream service: no {what} within {timeout:g}s; its log:\n{self.log.read_text()[-4000:]}")


@pytest_asyncio.fixture
async def start_upstream(
    upstream_python: Path, tmp_path: Path, names: Names
) -> AsyncIterator[Callable[[], Awaitable[UpstreamProcess]]]:
    """Starts the upstream service (when the test says so) and terminates it at teardown."""
    started: list[UpstreamProcess] = []

    async def start() -> UpstreamProcess:
        out, log, service_file = tmp_path / "received.jsonl", tmp_path / "upstream.log", tmp_path / "upstream_svc.py"
        service_file.write_text(
            UPSTREAM_SERVICE.format(
                out=str(out), host=AMQP_HOST, port=AMQP_PORT, exchange=names.exchange, prefix=names.queue_prefix
            )
        )
        with log.open("wb") as log_file:
            process = await asyncio.create_subprocess_exec(
                str(upstream_python.parent / "tomodachi"),
                "run",
                "--production",
                service_file.name,  # upstream cannot import a service file given by absolute path
                cwd=str(tmp_path),
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )
        started.append(UpstreamProcess(process, out, log))
        return started[-1]

    try:
        yield start
    finally:
        for upstream in started:
            process = upstream.process
            if process.returncode is None:
                process.terminate()
                try:
                    await asyncio.wait_for(process.wait(), 15)
                except asyncio.TimeoutError:
                    process.kill()
                    await process.wait()


async def test_upstream_and_ours_exchange_messages_both_ways(
    real_harness: ServiceHarness,
    names: Names,
    probe: Probe,
    start_upstream: Callable[[], Awaitable[UpstreamProcess]],
) -> None:
    received = Counter()
    shared = Counter()

    class Ours(tomodachi.Service):
        name = "ours-interop"
        message_envelope = JsonBase

        @tomodachi.amqp("interop.to-ours")
        async def handler(self, data: Any, service: Any, routing_key: str) -> None:
            received.add((data, service["name"], routing_key))

        @tomodachi.amqp("interop.shared", competing=True)  # the very queue upstream consumes from too
        async def shared(self, data: Any) -> None:
            shared.add(data)

    ours = await real_harness.start(Ours, options=names.options())  # bound before upstream publishes
    upstream = await start_upstream()

    # upstream → ours (published from its _started_service, before the ready marker)
    ready = await upstream.wait_for_entry(lambda e: e.get("ready"), "ready marker", timeout=30)
    await received.wait_count(1, "the message upstream published")
    assert received.items == [({"hello": "from upstream"}, "upstream-interop", "interop.to-ours")]

    # ours → upstream (its queue is bound: upstream consumes before _started_service)
    await tomodachi.amqp_publish(ours.instance, {"hello": "from ours", "n": [1, 2]}, routing_key="interop.to-upstream")
    entry = await upstream.wait_for_entry(lambda e: "received" in e, "message from our service")
    assert entry["received"] == {"hello": "from ours", "n": [1, 2]}
    assert entry["from"].startswith(f"{ours.instance.uuid}.")
    assert upstream.process.returncode is None, upstream.log.read_text()[-4000:]

    # a competing queue declared by both sides (same name, same arguments): each message handled once overall
    for n in range(10):
        await tomodachi.amqp_publish(ours.instance, n, routing_key="interop.shared")

    def upstream_shared() -> list[Any]:
        return [e["shared"] for e in upstream.entries() if "shared" in e]

    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    while loop.time() < deadline:
        if len(shared.items) + len(upstream_shared()) >= 10:
            break
        await asyncio.sleep(0.05)  # the other side is a process: poll its record file, bounded
    assert sorted([*shared.items, *upstream_shared()]) == list(range(10))  # type: ignore[type-var]

    # upstream named its own queue exactly as our naming does (then clean it up: our broker did not declare it)
    upstream_queue = queue_name(
        "interop.to-upstream", "received", ready["uuid"], competing=False, prefix=names.queue_prefix
    )
    assert await probe.message_count(upstream_queue) == 0  # passive declare: fails if the queue does not exist
    await probe.delete({upstream_queue}, set())
