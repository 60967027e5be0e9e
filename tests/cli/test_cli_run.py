"""`tomodachi run` end to end in a subprocess: signals, forced stop, exit codes, config merge, several files."""

from __future__ import annotations

import json
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

Write = Callable[[str, str], Path]

LIFECYCLE_SERVICE = """
import asyncio
import pathlib
import tomodachi

EVENTS = pathlib.Path("events.log")


def record(event):
    with EVENTS.open("a") as fh:
        fh.write(event + "\\n")


class Service(tomodachi.Service):
    name = "lifecycle"
    hang_on_stopping = {hang}

    async def _start_service(self):
        record("_start_service")

    async def _started_service(self):
        record("_started_service")

    async def _stopping_service(self):
        record("_stopping_service")
        if self.hang_on_stopping:
            await asyncio.Event().wait()
        record("_stopping_service done")

    async def _stop_service(self):
        record("_stop_service")
"""


def events(folder: Path) -> list[str]:
    path = folder / "events.log"
    return path.read_text().splitlines() if path.exists() else []


@pytest.mark.parametrize(
    ("signum", "message"),
    [(signal.SIGINT, "interrupt signal <ctrl+c>"), (signal.SIGTERM, "received termination signal")],
)
def test_signal_stops_gracefully_with_exit_code_0(
    start_tomodachi: Callable[..., Any], write_file: Write, tmp_path: Path, signum: int, message: str
) -> None:
    write_file("lifecycle_service.py", LIFECYCLE_SERVICE.format(hang=False))
    process = start_tomodachi("run", "--production", "lifecycle_service.py")
    process.wait_started()
    process.signal(signum)
    assert process.wait_exit() == 0
    assert message in process.text
    assert "terminated service" in process.text
    assert events(tmp_path) == [
        "_start_service",
        "_started_service",
        "_stopping_service",
        "_stopping_service done",
        "_stop_service",
    ]


def test_second_signal_forces_the_stop(start_tomodachi: Callable[..., Any], write_file: Write, tmp_path: Path) -> None:
    write_file("hanging_service.py", LIFECYCLE_SERVICE.format(hang=True))
    process = start_tomodachi("run", "--production", "hanging_service.py")
    process.wait_started()
    process.signal(signal.SIGTERM)
    process.wait_for("stopping service")
    process.signal(signal.SIGINT)
    assert process.wait_exit() != 0
    assert "forcing stop" in process.text
    assert "_stopping_service done" not in events(tmp_path)
    assert "Task was destroyed but it is pending" not in process.text


BUSY_SERVICE = """
import asyncio
import tomodachi

class Busy(tomodachi.Service):
    name = "busy"
    options = tomodachi.Options(http={{"port": {port}, "host": "127.0.0.1"}})

    @tomodachi.http("GET", r"/slow")
    async def slow(self):
        print("slow request started", flush=True)
        await asyncio.sleep(30)
        return "late"
"""


def test_a_forced_stop_with_busy_handlers_ends_without_a_flood_of_tracebacks(
    start_tomodachi: Callable[..., Any], write_file: Write
) -> None:
    import socket
    import threading
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    write_file("busy_service.py", BUSY_SERVICE.format(port=port))
    process = start_tomodachi("run", "--production", "busy_service.py")
    process.wait_started()

    def request() -> None:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/slow", timeout=20).read()
        except OSError:
            pass  # the connection is cut by the forced stop

    for _ in range(3):
        threading.Thread(target=request, daemon=True).start()
    for _ in range(3):
        process.wait_for("slow request started")
    process.signal(signal.SIGINT)
    process.wait_for("awaiting in-flight http requests")
    process.signal(signal.SIGINT)
    assert process.wait_exit() != 0
    assert "forcing stop" in process.text
    assert "Task was destroyed but it is pending" not in process.text
    assert "Logging error" not in process.text


EXITING_SERVICE = """
import tomodachi

class Service(tomodachi.Service):
    name = "exiting"

    async def _started_service(self):
        {statement}
"""


@pytest.mark.parametrize(
    ("statement", "code"),
    [
        ("tomodachi.exit(4)", 4),
        ("tomodachi.exit()", 0),
        ("tomodachi.SERVICE_EXIT_CODE = 9; tomodachi.exit()", 9),
    ],
)
def test_exit_codes_from_inside_a_service(
    run_tomodachi: Callable[..., Any], write_file: Write, statement: str, code: int
) -> None:
    write_file("exiting_service.py", EXITING_SERVICE.format(statement=statement))
    result = run_tomodachi("run", "--production", "exiting_service.py")
    assert result.returncode == code, result.stderr
    assert f"tomodachi.exit [{code}] was called" in result.stderr


def test_service_exit_code_assignment_is_used_on_signal(start_tomodachi: Callable[..., Any], write_file: Write) -> None:
    write_file(
        "assigned_code.py",
        """
        import tomodachi

        class Service(tomodachi.Service):
            async def _started_service(self):
                tomodachi.SERVICE_EXIT_CODE = 3
        """,
    )
    process = start_tomodachi("run", "--production", "assigned_code.py")
    process.wait_started()
    process.signal(signal.SIGTERM)
    assert process.wait_exit() == 3


def test_python_m_tomodachi_run(run_tomodachi: Callable[..., Any], write_file: Write) -> None:
    write_file("run_module.py", EXITING_SERVICE.format(statement="tomodachi.exit(5)"))
    result = run_tomodachi("run_module.py", "--production", module="tomodachi.run")
    assert result.returncode == 5, result.stderr


OPTIONS_SERVICE = """
import json
import pathlib
import tomodachi

class Service(tomodachi.Service):
    name = "configured"
    options = tomodachi.Options(http={"port": 1234})

    async def _started_service(self):
        http = self.options.http
        pathlib.Path("options.json").write_text(json.dumps({"port": http.port, "host": http.host}))
        tomodachi.exit(0)
"""


def test_config_file_merges_over_class_options_and_keeps_following_files(
    run_tomodachi: Callable[..., Any], write_file: Write, tmp_path: Path
) -> None:
    write_file("configured_service.py", OPTIONS_SERVICE)
    write_file("config.json", json.dumps({"options": {"http": {"host": "127.0.0.1"}}}))
    # -c comes first: the .py file after it must not be taken for a config file
    result = run_tomodachi("run", "-c", "config.json", "configured_service.py", "--production")
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "options.json").read_text()) == {"port": 1234, "host": "127.0.0.1"}


def test_unknown_option_in_config_file_fails_clearly(run_tomodachi: Callable[..., Any], write_file: Write) -> None:
    write_file("configured_service.py", OPTIONS_SERVICE)
    write_file("config.json", json.dumps({"options": {"http": {"prot": 80}}}))
    result = run_tomodachi("run", "--production", "configured_service.py", "-c", "config.json")
    assert result.returncode != 0
    assert "prot" in result.stderr


@pytest.mark.parametrize(
    "env",
    [
        {"TOMODACHI_LOG_LEVEL": "debug"},
        {"TOMODACHI_LOG_LEVEL": "nonsense"},  # the --log-level flag wins, so the bad variable is never read
        {"TOMODACHI_LOGGER": "json"},
    ],
)
def test_tomodachi_environment_variables_never_crash(
    run_tomodachi: Callable[..., Any], write_file: Write, env: dict[str, str]
) -> None:
    write_file("env_service.py", EXITING_SERVICE.format(statement="tomodachi.exit(0)"))
    result = run_tomodachi("run", "--production", "env_service.py", "--log-level", "info", env=env)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr


def test_a_bad_environment_value_is_a_usage_error_naming_the_variable(
    run_tomodachi: Callable[..., Any], write_file: Write
) -> None:
    write_file("env_service.py", EXITING_SERVICE.format(statement="tomodachi.exit(0)"))
    result = run_tomodachi("run", "--production", "env_service.py", env={"TOMODACHI_LOOP": "nonsense"})
    assert result.returncode == 2
    assert "invalid value for TOMODACHI_LOOP: 'nonsense' (use auto, asyncio or uvloop)" in result.stderr
    assert "Traceback" not in result.stderr


def test_production_environment_variable(run_tomodachi: Callable[..., Any], write_file: Write) -> None:
    write_file("env_service.py", EXITING_SERVICE.format(statement="tomodachi.exit(0)"))
    result = run_tomodachi("run", "env_service.py", env={"TOMODACHI_PRODUCTION": "1"})
    assert result.returncode == 0, result.stderr
    assert "file watcher enabled" not in result.stdout + result.stderr


ORDERED_SERVICE = """
import pathlib
import tomodachi

class {cls}(tomodachi.Service):
    name = "{name}"

    async def _start_service(self):
        with pathlib.Path("{order_file}").open("a") as fh:
            fh.write(self.name + "\\n")

    async def _started_service(self):
        if len(tomodachi.get_services()) == {total} and self.name == "{last}":
            tomodachi.exit(0)
"""


def test_several_files_and_classes_start_in_the_order_given(
    run_tomodachi: Callable[..., Any], write_file: Write, tmp_path: Path
) -> None:
    order_file = tmp_path / "order.log"
    common = {"order_file": order_file, "total": 3, "last": "a2"}
    write_file("svc_b.py", ORDERED_SERVICE.format(cls="B", name="b", **common))
    write_file(
        "svc_a.py",
        ORDERED_SERVICE.format(cls="A1", name="a1", **common) + ORDERED_SERVICE.format(cls="A2", name="a2", **common),
    )
    result = run_tomodachi("run", "--production", str(tmp_path / "svc_b.py"), "svc_a")
    assert result.returncode == 0, result.stderr
    assert order_file.read_text().split() == ["b", "a1", "a2"]


def test_tomodachi_run_from_the_service_file(run_tomodachi: Callable[..., Any], write_file: Write) -> None:
    write_file(
        "self_running.py",
        """
        import tomodachi

        class Service(tomodachi.Service):
            async def _started_service(self):
                tomodachi.exit(6)

        if __name__ == "__main__":
            tomodachi.run(production=True)
        """,
    )
    result = run_tomodachi(script="self_running.py")
    assert result.returncode == 6, result.stderr
    assert "tomodachi.exit [6] was called" in result.stderr
