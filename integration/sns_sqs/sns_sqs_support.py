"""Helpers for the SNS+SQS integration tests: a moto server process, the upstream-tomodachi virtualenv, waits."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from tomodachi.testing.wires import free_port, moto_server

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


@contextmanager
def _environment(extra: dict[str, str]) -> Iterator[None]:
    """``extra`` in ``os.environ`` while the block runs (a subprocess started in it inherits them)."""
    saved = {name: os.environ.get(name) for name in extra}
    os.environ.update(extra)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class MotoServer:
    """:func:`tomodachi.testing.wires.moto_server` as ``start()`` / ``stop()``: starting again keeps the port
    (a restart with empty state); ``env`` goes to the server process (e.g. ``INITIAL_NO_AUTH_ACTION_COUNT``)."""

    def __init__(self, port: int | None = None, env: dict[str, str] | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = dict(env or {})
        self._running: ExitStack | None = None

    def start(self, timeout: float = 30.0) -> None:
        running = ExitStack()
        with _environment(self.env):
            running.enter_context(moto_server(port=self.port, timeout=timeout))
        self._running = running

    def stop(self) -> None:
        running, self._running = self._running, None
        if running is not None:
            running.close()


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
