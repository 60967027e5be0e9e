"""Helpers for CLI tests: run `python -m tomodachi` in a subprocess with bounded waits on its output."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

START_TIMEOUT = 15.0  # generous upper bound for a service to start; normally well under a second
LINE_TIMEOUT = 10.0


def clean_env(**extra: str) -> dict[str, str]:
    """The test process's environment without TOMODACHI_* settings, unbuffered, without colors."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("TOMODACHI_")}
    env.update({"PYTHONUNBUFFERED": "1", "NO_COLOR": "1", "PYTHONDONTWRITEBYTECODE": "1"})
    env.update(extra)
    return env


class ServiceProcess:
    """A running `tomodachi` process; stderr and stdout lines are collected by reader threads."""

    def __init__(self, args: list[str], cwd: Path, env: dict[str, str]) -> None:
        self.args = args
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tomodachi", *args],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            errors="replace",
            start_new_session=True,  # own process group: teardown can kill everything it spawned
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        self._lock = threading.Lock()
        self._readers = [
            threading.Thread(target=self._read, args=(stream,), daemon=True)
            for stream in (self.proc.stderr, self.proc.stdout)
        ]
        for reader in self._readers:
            reader.start()

    def _read(self, stream: object) -> None:
        for line in iter(stream.readline, ""):  # type: ignore[attr-defined]
            with self._lock:
                self.output.append(line)
            self.lines.put(line)

    @property
    def text(self) -> str:
        with self._lock:
            return "".join(self.output)

    def wait_for(self, pattern: str, timeout: float = LINE_TIMEOUT) -> str:
        """Block until a line matching ``pattern`` (regex) is printed; fail with the output so far if not."""
        deadline = time.monotonic() + timeout
        regex = re.compile(pattern)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                pytest.fail(f"timed out after {timeout}s waiting for {pattern!r}; output:\n{self.text}")
            try:
                line = self.lines.get(timeout=min(remaining, 0.5))
            except queue.Empty:
                if self.proc.poll() is not None and self.lines.empty() and not self._reading():
                    pytest.fail(f"process exited ({self.proc.returncode}) before {pattern!r}; output:\n{self.text}")
                continue
            if regex.search(line):
                return line

    def _reading(self) -> bool:
        return any(reader.is_alive() for reader in self._readers)

    def wait_started(self, timeout: float = START_TIMEOUT) -> None:
        self.wait_for("started service successfully", timeout)

    def signal(self, signum: int) -> None:
        self.proc.send_signal(signum)

    def wait_exit(self, timeout: float = LINE_TIMEOUT) -> int:
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"process did not exit within {timeout}s; output:\n{self.text}")
        for reader in self._readers:
            reader.join(timeout=2)
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(5)


@pytest.fixture
def start_tomodachi(tmp_path: Path) -> Iterator[Callable[..., ServiceProcess]]:
    """Start `python -m tomodachi <args>` in tmp_path; every process is killed (whole group) at teardown."""
    processes: list[ServiceProcess] = []

    def start(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> ServiceProcess:
        """``env`` holds extra variables, added to the cleaned environment."""
        process = ServiceProcess(list(args), cwd or tmp_path, clean_env(**(env or {})))
        processes.append(process)
        return process

    yield start
    for process in processes:
        process.kill()


@pytest.fixture
def run_tomodachi(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run `python -m <module> <args>` (or `python <script> <args>`) to completion, bounded, in tmp_path;
    ``env`` adds variables to the cleaned environment."""

    def run(
        *args: str,
        module: str = "tomodachi",
        script: str | None = None,
        env: dict[str, str] | None = None,
        timeout: float = 20.0,
    ) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, script] if script else [sys.executable, "-m", module]
        return subprocess.run(
            [*command, *args],
            cwd=tmp_path,
            env=clean_env(**(env or {})),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            start_new_session=True,
        )

    return run


@pytest.fixture
def write_file(tmp_path: Path) -> Callable[[str, str], Path]:
    """Write a (dedented) file into tmp_path and return its path."""

    def write(name: str, content: str) -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(content).lstrip("\n"), encoding="utf-8")
        return path

    return write
