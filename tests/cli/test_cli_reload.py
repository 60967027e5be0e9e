"""Development mode (no --production): a code change restarts the services in-process with the new code."""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

# the watcher's log line (the dev-mode banner on stdout says "file watcher enabled" too)
WATCHER_ENABLED = r"file watcher enabled.*tomodachi\.watcher"

RELOADING_SERVICE = """
import pathlib
import tomodachi

VERSION = "{version}"

class Service(tomodachi.Service):
    name = "reloading"

    async def _start_service(self):
        with pathlib.Path("versions.log").open("a") as fh:
            fh.write(VERSION + "\\n")
"""


def test_file_change_restarts_services_with_new_code(
    start_tomodachi: Callable[..., Any], write_file: Callable[[str, str], Path], tmp_path: Path
) -> None:
    service_file = write_file("reloading_service.py", RELOADING_SERVICE.format(version="v1"))
    process = start_tomodachi("run", "reloading_service.py")
    process.wait_started()
    process.wait_for(WATCHER_ENABLED)

    # "file watcher enabled" is logged once the watches are armed: a change right after it is seen
    service_file.write_text(RELOADING_SERVICE.format(version="v2"))
    process.wait_for("restarting services", timeout=5)
    process.wait_started()
    assert (tmp_path / "versions.log").read_text().split() == ["v1", "v2"]

    process.signal(signal.SIGINT)
    assert process.wait_exit() == 0


def test_syntax_error_keeps_old_code_running_until_fixed(
    start_tomodachi: Callable[..., Any], write_file: Callable[[str, str], Path], tmp_path: Path
) -> None:
    service_file = write_file("reloading_service.py", RELOADING_SERVICE.format(version="v1"))
    process = start_tomodachi("run", "reloading_service.py")
    process.wait_started()
    process.wait_for(WATCHER_ENABLED)

    broken = RELOADING_SERVICE.format(version="v2") + "\ndef broken(:\n"
    service_file.write_text(broken)
    line = broken.splitlines().index("def broken(:") + 1
    process.wait_for(f"syntax error in file {service_file}:{line}", timeout=5)
    process.wait_for("restart failed due to error")
    assert process.proc.poll() is None  # the old code keeps running

    service_file.write_text(RELOADING_SERVICE.format(version="v3"))
    process.wait_for("restarting services", timeout=5)
    process.wait_started()
    assert (tmp_path / "versions.log").read_text().split() == ["v1", "v3"]
    process.signal(signal.SIGTERM)
    assert process.wait_exit() == 0


def test_without_watchfiles_a_change_still_restarts_the_services(
    start_tomodachi: Callable[..., Any], write_file: Callable[[str, str], Path], tmp_path: Path
) -> None:
    """watchfiles is the optional ``watch`` extra: without it the reloader polls the source tree."""
    blocker = tmp_path / "no_watchfiles"
    blocker.mkdir()
    (blocker / "watchfiles.py").write_text("raise ImportError('watchfiles is not installed')\n")
    service_file = write_file("reloading_service.py", RELOADING_SERVICE.format(version="v1"))
    process = start_tomodachi("run", "reloading_service.py", env={"PYTHONPATH": str(blocker)})
    process.wait_started()
    process.wait_for(r"file watcher enabled.*mechanism=polling")

    service_file.write_text(RELOADING_SERVICE.format(version="v2"))
    process.wait_for("restarting services", timeout=5)
    process.wait_started()
    assert (tmp_path / "versions.log").read_text().split() == ["v1", "v2"]
    process.signal(signal.SIGINT)
    assert process.wait_exit() == 0
