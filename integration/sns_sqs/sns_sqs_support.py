"""Helpers for the SNS+SQS integration tests: a moto server process, the upstream-tomodachi virtualenv, waits."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
UPSTREAM_VERSION = "0.29.0"
UPSTREAM_VENV = Path(os.environ.get("TOMODACHI_UPSTREAM_VENV", Path.home() / ".cache" / "tomodachi-upstream-venv"))
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def moto_command(port: int) -> list[str]:
    binary = Path(sys.executable).parent / "moto_server"
    if binary.exists():
        return [str(binary), "-H", "127.0.0.1", "-p", str(port)]
    return [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]


class MotoServer:
    """A ``moto_server`` subprocess on 127.0.0.1; ``stop()`` and ``start()`` again keep the same port."""

    def __init__(self, port: int | None = None, env: dict[str, str] | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, **FAKE_CREDENTIALS, **(env or {})}
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> None:
        self.process = subprocess.Popen(
            moto_command(self.port), env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"moto_server exited with {self.process.returncode}")
            try:
                with urllib.request.urlopen(f"{self.url}/moto-api/reset-auth", timeout=1) as response:
                    response.read()
                return
            except urllib.error.HTTPError:
                return  # answering at all is enough
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"moto_server did not answer on {self.url} within {timeout}s")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def upstream_python() -> Path:
    """Python of a virtualenv with upstream tomodachi 0.29.0 from PyPI, created once and cached.

    Created in a temporary directory beside the target and renamed into place, so concurrent creators (other
    test runs) never see a half-built environment; whoever renames first wins, the others discard theirs.
    """
    python = UPSTREAM_VENV / "bin" / "python"
    if _has_upstream(python):
        return python
    UPSTREAM_VENV.parent.mkdir(parents=True, exist_ok=True)
    build = Path(tempfile.mkdtemp(prefix=".tomodachi-upstream-", dir=UPSTREAM_VENV.parent))
    try:
        subprocess.run(["python3", "-m", "venv", str(build)], check=True, capture_output=True, timeout=120)
        subprocess.run(
            [str(build / "bin" / "python"), "-m", "pip", "install", "-q", f"tomodachi=={UPSTREAM_VERSION}"],
            check=True,
            capture_output=True,
            timeout=600,
        )
        try:
            os.rename(build, UPSTREAM_VENV)
        except OSError:
            if not _has_upstream(python):  # someone else's half-made or broken directory: replace it
                shutil.rmtree(UPSTREAM_VENV, ignore_errors=True)
                os.rename(build, UPSTREAM_VENV)
    finally:
        shutil.rmtree(build, ignore_errors=True)
    if not _has_upstream(python):
        raise RuntimeError(f"could not prepare upstream tomodachi {UPSTREAM_VERSION} in {UPSTREAM_VENV}")
    return python


def _has_upstream(python: Path) -> bool:
    if not python.exists():
        return False
    check = subprocess.run(
        [str(python), "-c", "import importlib.metadata as m; print(m.version('tomodachi'))"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return check.returncode == 0 and check.stdout.strip() == UPSTREAM_VERSION


async def wait_for(predicate: Callable[[], Awaitable[Any]], timeout: float, interval: float = 0.1) -> Any:
    """Poll an async predicate until it returns something truthy (bounded); returns that value."""
    deadline = time.monotonic() + timeout
    while True:
        value = await predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"condition not met within {timeout}s")
        await asyncio.sleep(interval)
