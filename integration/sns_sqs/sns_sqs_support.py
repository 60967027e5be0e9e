"""Helpers for the SNS+SQS integration tests: a moto server process, the upstream-tomodachi virtualenv, waits."""

from __future__ import annotations

import asyncio
import fcntl
import os
import subprocess
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from tomodachi.messaging.sns_sqs.aws_client import AwsSettings
from tomodachi.testing.wires import MOTO_ACCESS_KEY_ID, MOTO_SECRET_ACCESS_KEY, free_port, moto_server

REPO = Path(__file__).resolve().parents[2]
UPSTREAM_VERSION = "0.29.0"
UPSTREAM_VENV = Path(os.environ.get("TOMODACHI_UPSTREAM_VENV", Path.home() / ".cache" / "tomodachi-upstream-venv"))
# whatever the environment running the tests holds, moto only ever sees these
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": MOTO_ACCESS_KEY_ID,
    "AWS_SECRET_ACCESS_KEY": MOTO_SECRET_ACCESS_KEY,
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def moto_settings(url: str) -> AwsSettings:
    """Connection settings for a client of the test's own at moto ``url``: explicit dummy credentials, so not even
    botocore's default chain (environment, config files) can pick the real ones."""
    return AwsSettings(
        region_name="us-east-1",
        aws_access_key_id=MOTO_ACCESS_KEY_ID,
        aws_secret_access_key=MOTO_SECRET_ACCESS_KEY,
        sns_endpoint_url=url,
        sqs_endpoint_url=url,
        sts_endpoint_url=url,
    )


def aws_options(url: str, prefix: str = "", **extra: Any) -> dict[str, Any]:
    """Service options pointing at ``url`` (sts falls back to the sns URL); ``prefix`` isolates a test's names."""
    return {
        "aws_endpoint_urls.sns": url,
        "aws_endpoint_urls.sqs": url,
        "aws_sns_sqs.region_name": "us-east-1",
        "aws_sns_sqs.aws_access_key_id": MOTO_ACCESS_KEY_ID,
        "aws_sns_sqs.aws_secret_access_key": MOTO_SECRET_ACCESS_KEY,
        "aws_sns_sqs.topic_prefix": prefix,
        "aws_sns_sqs.queue_name_prefix": prefix,
        **extra,
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

    Built in place, one creator at a time (others wait on a lock file beside it, then find it made): a
    virtualenv's scripts name its interpreter by absolute path, so one built elsewhere and moved into place has a
    ``bin/tomodachi`` that cannot start (which the AMQP interop tests run).
    """
    python = UPSTREAM_VENV / "bin" / "python"
    if _has_upstream(python):
        return python
    UPSTREAM_VENV.parent.mkdir(parents=True, exist_ok=True)
    with open(UPSTREAM_VENV.parent / f".{UPSTREAM_VENV.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _has_upstream(python):
            subprocess.run(
                ["python3", "-m", "venv", "--clear", str(UPSTREAM_VENV)], check=True, capture_output=True, timeout=120
            )
            subprocess.run(
                [str(python), "-m", "pip", "install", "-q", f"tomodachi=={UPSTREAM_VERSION}"],
                check=True,
                capture_output=True,
                timeout=600,
            )
    if not _has_upstream(python):
        raise RuntimeError(f"could not prepare upstream tomodachi {UPSTREAM_VERSION} in {UPSTREAM_VENV}")
    return python


def _scripts_start(python: Path) -> bool:
    """Whether the virtualenv's ``tomodachi`` script names an interpreter that exists."""
    script = python.parent / "tomodachi"
    try:
        first_line = script.read_text(errors="replace").splitlines()[0]
    except (OSError, IndexError):
        return False
    return first_line.startswith("#!") and Path(first_line[2:].split()[0]).exists()


def _has_upstream(python: Path) -> bool:
    if not python.exists() or not _scripts_start(python):
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
