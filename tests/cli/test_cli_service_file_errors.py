"""Broken service files: non-zero exit with one clear message naming the file (and line), no traceback wall."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

Run = Callable[..., Any]
Write = Callable[[str, str], Path]


def assert_one_clear_error(stderr: str, *fragments: str) -> None:
    assert "Traceback" not in stderr, stderr
    matching = [line for line in stderr.splitlines() if all(fragment in line for fragment in fragments)]
    assert len(matching) == 1, f"expected one line with {fragments}, got:\n{stderr}"


def test_syntax_error_names_file_and_line(run_tomodachi: Run, write_file: Write) -> None:
    path = write_file(
        "broken_syntax.py",
        """
        import tomodachi

        class Service(tomodachi.Service):
            async def _start_service(self)
                pass
        """,
    )
    result = run_tomodachi("run", "--production", "broken_syntax.py")
    assert result.returncode == 1
    assert_one_clear_error(result.stderr, "syntax error", f"{path}:4")


def test_indentation_error_names_file_and_line(run_tomodachi: Run, write_file: Write) -> None:
    path = write_file(
        "broken_indent.py",
        """
        import tomodachi

        class Service(tomodachi.Service):
            async def _start_service(self):
            pass
        """,
    )
    result = run_tomodachi("run", "--production", "broken_indent.py")
    assert result.returncode == 1
    assert_one_clear_error(result.stderr, "indentation error", f"{path}:5")


def test_missing_module_names_file_line_and_package(run_tomodachi: Run, write_file: Write) -> None:
    path = write_file(
        "missing_import.py",
        """
        import tomodachi
        import no_such_package_xyz

        class Service(tomodachi.Service):
            async def _start_service(self):
                pass
        """,
    )
    result = run_tomodachi("run", "--production", "missing_import.py")
    assert result.returncode == 1
    assert_one_clear_error(result.stderr, f"{path}:2", "no_such_package_xyz")


def test_exception_at_import_time_names_file_and_line(run_tomodachi: Run, write_file: Write) -> None:
    path = write_file(
        "raises_on_import.py",
        """
        import tomodachi

        SETTINGS = {}
        PORT = SETTINGS["port"]
        """,
    )
    result = run_tomodachi("run", "--production", "raises_on_import.py")
    assert result.returncode == 1
    assert_one_clear_error(result.stderr, f"{path}:4", "KeyError")


def test_file_without_service_class(run_tomodachi: Run, write_file: Write) -> None:
    path = write_file(
        "no_services.py",
        """
        import tomodachi

        class NotAService(tomodachi.Service):
            def helper(self):
                pass
        """,
    )
    result = run_tomodachi("run", "--production", "no_services.py")
    assert result.returncode == 1
    assert_one_clear_error(result.stderr, str(path), "no service class")


@pytest.mark.parametrize("name", ["does_not_exist.py", "does_not_exist"])
def test_missing_file(run_tomodachi: Run, name: str) -> None:
    result = run_tomodachi("run", "--production", name)
    assert result.returncode != 0
    assert_one_clear_error(result.stderr, "no such service file", name)


@pytest.mark.parametrize("hook", ["_start_service", "_started_service"])
def test_exception_in_start_hook_exits_1_with_readable_error(
    run_tomodachi: Run, write_file: Write, tmp_path: Path, hook: str
) -> None:
    write_file(
        "fails_to_start.py",
        f"""
        import pathlib
        import tomodachi

        class Service(tomodachi.Service):
            name = "fails-to-start"

            async def {hook}(self):
                raise RuntimeError("database unreachable")

            async def _stop_service(self):
                pathlib.Path("stopped.marker").write_text("yes")
        """,
    )
    result = run_tomodachi("run", "--production", "fails_to_start.py")
    assert result.returncode == 1
    assert "database unreachable" in result.stderr
    assert "failed to start service" in result.stderr
    assert "started service successfully" not in result.stderr
    assert (tmp_path / "stopped.marker").read_text() == "yes"  # the full stop ran
