"""The README's first command (install and run the example service) works exactly as written."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def readme_shell_blocks() -> list[str]:
    return [block.strip() for block in re.findall(r"```sh\n(.*?)```", README, flags=re.DOTALL)]


def test_readme_opens_with_the_two_commands() -> None:
    blocks = readme_shell_blocks()
    assert "tomodachi run examples/http_service.py" in blocks[0]
    assert "pytest" in blocks[1]
    assert "<!-- test-command -->" in README.split(blocks[1])[0].splitlines()[-2]


def _wait_for_http(url: str, process: subprocess.Popen[bytes], deadline: float) -> str:
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"service exited early with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return str(response.read().decode())
        except OSError:
            time.sleep(0.2)  # polling an external process: there is no event to await
    raise AssertionError(f"{url} did not answer in time")


@pytest.mark.skipif(os.environ.get("TOMODACHI_SKIP_README_INSTALL") == "1", reason="install step disabled")
def test_first_command_installs_and_runs_the_example_service() -> None:
    command = readme_shell_blocks()[0]
    process = subprocess.Popen(
        ["bash", "-c", command],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        body = _wait_for_http("http://127.0.0.1:9700/", process, time.monotonic() + 240)
        assert body == "hello from tomodachi"
        os.killpg(process.pid, signal.SIGINT)
        output, _ = process.communicate(timeout=30)
        assert process.returncode == 0, output.decode()[-2000:]
        assert b"terminated service" in output
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
