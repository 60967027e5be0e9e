"""Launcher (in-process): several files and classes, file order, absolute paths, exit codes, execution context."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

import tomodachi
from tomodachi.runtime import context as execution_context
from tomodachi.runtime.launcher import Launcher, run_launcher

# every service appends "<file>:<name>" to the shared execution context when its _start_service runs;
# the service named "exiter" then stops everything from _started_service
SERVICE_TEMPLATE = """
import tomodachi

class {cls}(tomodachi.Service):
    name = "{name}"

    async def _start_service(self):
        context = tomodachi.get_execution_context()
        context.setdefault("started", []).append("{file}:" + self.name)
        context.setdefault("seen_services", []).append(sorted(s.name for s in tomodachi.get_services()))

    async def _started_service(self):
        if self.name == "exiter":
            {exit_statement}

    async def _stop_service(self):
        tomodachi.get_execution_context().setdefault("stopped", []).append(self.name)
"""


def write_service(
    folder: Path, file: str, services: list[tuple[str, str]], exit_statement: str = "tomodachi.exit(0)"
) -> Path:
    body = "\n".join(
        SERVICE_TEMPLATE.format(cls=cls, name=name, file=file, exit_statement=exit_statement) for cls, name in services
    )
    path = folder / f"{file}.py"
    path.write_text(textwrap.dedent(body))
    return path


@pytest.fixture(autouse=True)
def clean_execution_context() -> Iterator[None]:
    execution_context._clear_execution_context()
    yield
    execution_context._clear_execution_context()


def test_files_start_in_the_order_given_with_absolute_paths(tmp_path: Path) -> None:
    zeta = write_service(tmp_path, "zeta_services", [("Zeta", "zeta")])
    alpha = write_service(tmp_path, "alpha_services", [("Alpha", "alpha"), ("Exiter", "exiter")])
    assert zeta.is_absolute()

    exit_code = run_launcher(Launcher([str(zeta), str(alpha)]))

    context = tomodachi.get_execution_context()
    assert exit_code == 0
    assert context["started"] == ["zeta_services:zeta", "alpha_services:alpha", "alpha_services:exiter"]
    assert context["seen_services"][0][0] == "zeta"  # registered before its own _start_service ran
    assert sorted(context["stopped"]) == ["alpha", "exiter", "zeta"]
    assert tomodachi.get_services() == []


def test_relative_path_without_py_suffix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_service(tmp_path, "relative_services", [("Exiter", "exiter")])
    monkeypatch.chdir(tmp_path)
    assert run_launcher(Launcher(["relative_services"])) == 0
    assert tomodachi.get_execution_context()["started"] == ["relative_services:exiter"]


def test_exit_code_from_tomodachi_exit(tmp_path: Path) -> None:
    path = write_service(tmp_path, "exit_code_services", [("Exiter", "exiter")], "tomodachi.exit(3)")
    assert run_launcher(Launcher([str(path)])) == 3
    assert tomodachi.get_execution_context()["stopped"] == ["exiter"]


def test_assigned_service_exit_code_is_honoured(tmp_path: Path) -> None:
    statement = "tomodachi.SERVICE_EXIT_CODE = 7; tomodachi.exit()"
    path = write_service(tmp_path, "assigned_code_services", [("Exiter", "exiter")], statement)
    assert run_launcher(Launcher([str(path)])) == 7


def test_start_failure_exits_1_and_stops_the_other_services(tmp_path: Path) -> None:
    good = write_service(tmp_path, "good_services", [("Good", "good")])
    bad = tmp_path / "bad_services.py"
    bad.write_text(
        "import tomodachi\n"
        "class Bad(tomodachi.Service):\n"
        "    name = 'bad'\n"
        "    async def _start_service(self):\n"
        "        raise RuntimeError('cannot start')\n"
    )
    assert run_launcher(Launcher([str(good), str(bad)])) == 1
    assert tomodachi.get_execution_context()["stopped"] == ["good"]
    assert tomodachi.get_services() == []


def test_file_errors_exit_1(tmp_path: Path) -> None:
    missing = tmp_path / "does_not_exist.py"
    assert run_launcher(Launcher([str(missing)])) == 1


def test_launcher_execution_context_keys(tmp_path: Path) -> None:
    path = write_service(tmp_path, "context_services", [("Exiter", "exiter")])
    assert run_launcher(Launcher([str(path)])) == 0
    context = tomodachi.get_execution_context()
    assert context["tomodachi_version"] == tomodachi.__version__
    assert context["process_id"] == os.getpid()
    assert context["event_loop"] == "asyncio"
    assert context["watcher_enabled"] is False
    assert context["cwd"] == str(Path.cwd())
    assert context["init_timestamp"].endswith("Z")
    for key in ("python_version", "system_platform"):
        assert isinstance(context[key], str) and context[key]


def test_uvloop_is_reported_in_the_execution_context(tmp_path: Path) -> None:
    pytest.importorskip("uvloop")
    path = write_service(tmp_path, "uvloop_services", [("Exiter", "exiter")])
    assert run_launcher(Launcher([str(path)]), loop="uvloop") == 0
    assert tomodachi.get_execution_context()["event_loop"] == "uvloop"


HANGING_START = """
import asyncio
import tomodachi

class Hanging(tomodachi.Service):
    name = "hanging"

    async def _start_service(self):
        tomodachi.exit(0)  # the stop request arrives while the start is still running
        await asyncio.Event().wait()

    async def _stop_service(self):
        tomodachi.get_execution_context().setdefault("stopped", []).append(self.name)
"""


def test_stop_request_during_a_hanging_start_stops_gracefully(tmp_path: Path) -> None:
    path = tmp_path / "hanging.py"
    path.write_text(HANGING_START)
    assert run_launcher(Launcher([str(path)])) == 0
    assert execution_context.get_execution_context()["stopped"] == ["hanging"]
