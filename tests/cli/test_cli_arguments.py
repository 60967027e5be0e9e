"""Command-line parsing (spec §10): help, version, usage errors (exit 2), -c files, TOMODACHI_* variables."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import tomodachi
from tomodachi.cli import UsageError, parse_run_arguments

Run = Callable[..., Any]


@pytest.mark.parametrize("args", [["-h"], ["--help"], []])
def test_help_and_no_arguments_print_usage(run_tomodachi: Run, args: list[str]) -> None:
    result = run_tomodachi(*args)
    assert result.returncode == 0
    assert "Usage: tomodachi" in result.stdout
    assert "tomodachi run <service" in result.stdout


@pytest.mark.parametrize("flag", ["-v", "--version"])
def test_version(run_tomodachi: Run, flag: str) -> None:
    result = run_tomodachi(flag)
    assert result.returncode == 0
    assert result.stdout.strip() == f"tomodachi {tomodachi.__version__}"


def test_dependency_versions(run_tomodachi: Run) -> None:
    result = run_tomodachi("--dependency-versions")
    assert result.returncode == 0
    lines = result.stdout.split()
    for package in ("aioamqp", "aiobotocore", "aiohttp", "botocore"):
        assert any(line.startswith(f"{package}/") for line in lines), result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run"], "no service file has been provided"),
        (["run", "--production"], "no service file has been provided"),
        (["--production", "run", "service.py"], "the command 'run' must be specified before any options"),
        (["run", "service.py", "--no-such-option"], "unknown option '--no-such-option'"),
        (["run", "service.py", "--loop", "tokio"], "invalid value for --loop"),
        (["run", "service.py", "--log-level", "loud"], "invalid log level"),
        (["run", "service.py", "--logger", "xml"], "invalid logger"),
        (["service.py"], "did you mean 'tomodachi run service.py'"),
        (["launch"], "unknown command 'launch'"),
    ],
)
def test_usage_errors_exit_2(run_tomodachi: Run, args: list[str], message: str) -> None:
    result = run_tomodachi(*args)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_config_file_exits_2(run_tomodachi: Run, write_file: Callable[[str, str], Path]) -> None:
    write_file("service.py", "import tomodachi\n")
    result = run_tomodachi("run", "--production", "service.py", "-c", "missing.json")
    assert result.returncode == 2
    assert "missing.json" in result.stderr
    assert "Traceback" not in result.stderr


def test_invalid_config_file_exits_2(run_tomodachi: Run, write_file: Callable[[str, str], Path]) -> None:
    write_file("service.py", "import tomodachi\n")
    write_file("broken.json", '{"options": {"http": ')
    result = run_tomodachi("run", "--production", "service.py", "-c", "broken.json")
    assert result.returncode == 2
    assert "broken.json" in result.stderr
    assert "Traceback" not in result.stderr


# -- parsing in-process (fast) --------------------------------------------------------------------------------


@pytest.fixture
def no_tomodachi_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in (
        "TOMODACHI_PRODUCTION",
        "TOMODACHI_LOOP",
        "TOMODACHI_LOG_LEVEL",
        "TOMODACHI_LOGGER",
        "TOMODACHI_CUSTOM_LOGGER",
    ):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_config_flag_does_not_swallow_service_files(no_tomodachi_env: pytest.MonkeyPatch) -> None:
    parsed = parse_run_arguments(["-c", "a.json", "b.json", "service.py", "other.py", "--production"])
    assert parsed.config_files == ["a.json", "b.json"]
    assert parsed.files == ["service.py", "other.py"]
    assert parsed.production


def test_options_anywhere_after_run_and_files_keep_their_order(no_tomodachi_env: pytest.MonkeyPatch) -> None:
    parsed = parse_run_arguments(["zeta.py", "--loop", "asyncio", "alpha.py", "-l", "DEBUG", "zeta.py", "/abs/x.py"])
    assert parsed.files == ["zeta.py", "alpha.py", "/abs/x.py"]  # order kept, duplicates dropped
    assert parsed.loop == "asyncio"
    assert parsed.log_level == "debug"
    assert not parsed.production


@pytest.mark.parametrize(("alias", "loop"), [("aio", "asyncio"), ("uv", "uvloop"), ("default", "auto")])
def test_loop_aliases(no_tomodachi_env: pytest.MonkeyPatch, alias: str, loop: str) -> None:
    assert parse_run_arguments(["s.py", "--loop", alias]).loop == loop


def test_environment_variables_give_defaults_and_flags_win(no_tomodachi_env: pytest.MonkeyPatch) -> None:
    no_tomodachi_env.setenv("TOMODACHI_LOG_LEVEL", "debug")
    no_tomodachi_env.setenv("TOMODACHI_PRODUCTION", "1")
    no_tomodachi_env.setenv("TOMODACHI_LOGGER", "json")
    assert parse_run_arguments(["s.py"]).log_level == "debug"
    parsed = parse_run_arguments(["s.py", "--log-level", "info"])
    assert (parsed.log_level, parsed.production, parsed.logger) == ("info", True, "json")


@pytest.mark.parametrize("value", ["0", "no", "false", "off", ""])
def test_production_env_false_values(no_tomodachi_env: pytest.MonkeyPatch, value: str) -> None:
    no_tomodachi_env.setenv("TOMODACHI_PRODUCTION", value)
    assert not parse_run_arguments(["s.py"]).production


@pytest.mark.parametrize(
    ("name", "value"),
    [("TOMODACHI_LOG_LEVEL", "verbose"), ("TOMODACHI_LOOP", "tokio"), ("TOMODACHI_LOGGER", "xml")],
)
def test_invalid_environment_values_never_crash(no_tomodachi_env: pytest.MonkeyPatch, name: str, value: str) -> None:
    no_tomodachi_env.setenv(name, value)
    parsed = parse_run_arguments(["s.py"])
    assert (parsed.log_level, parsed.loop, parsed.logger) == ("info", "auto", "console")


@pytest.mark.parametrize(
    "args", [["s.py", "-c"], ["s.py", "-c", "--production"], ["s.py", "--log-level"], ["s.py", "--loop"]]
)
def test_flags_missing_their_value(no_tomodachi_env: pytest.MonkeyPatch, args: list[str]) -> None:
    with pytest.raises(UsageError):
        parse_run_arguments(args)
