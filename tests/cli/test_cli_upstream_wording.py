"""The command line says what upstream's said for the same mistakes, word for word (scripts and log searches match
on it), with our did-you-mean added where upstream had nothing to say; and a run's banner, lifecycle lines and exit
code are the ones upstream's users look for."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import tomodachi
from tomodachi.cli import RunArguments, cli_entrypoint, help_text, main, print_banner
from tomodachi.cli_options import RUN_OPTIONS

Run = Callable[..., Any]

POINTER = "use the '--help' option for cli usage help.\n$ tomodachi --help\n"


def framed(detail: str, retry: str | None = None) -> str:
    """The block a mistake before any command gets."""
    meant = f"maybe you intended to run something like this?\n$ {retry}\n\n" if retry else ""
    return f"error: invalid command or combination of command options.\nerror: {detail}\n\n---\n\n{meant}{POINTER}"


@pytest.fixture
def no_tomodachi_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    for option in RUN_OPTIONS:
        if option.env:
            monkeypatch.delenv(option.env, raising=False)
    monkeypatch.chdir(tmp_path)
    return monkeypatch


def output_of(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out + err


# -- mistakes before any command ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--invalid"], framed("option --invalid not recognized.")),
        (["invalidsubcommand"], framed("the command 'run' must be specified before any service files or options.")),
        (
            ["services/app.py"],
            framed(
                "the command 'run' must be specified before any service files or options.",
                "tomodachi run services/app.py",
            ),
        ),
        (
            ["--logger", "json", "run", "app.py"],
            framed("the command 'run' must be specified before any options.", "tomodachi run --logger json app.py"),
        ),
        (
            ["--production", "app.py"],
            framed("the command 'run' must be specified before any options.", "tomodachi run --production app.py"),
        ),
        (
            ["--format", "json", "topology", "app.py"],
            framed(
                "the command 'topology' must be specified before any options.",
                "tomodachi topology --format json app.py",
            ),
        ),
    ],
)
def test_a_mistake_before_the_command_is_framed_as_upstream_framed_it(
    no_tomodachi_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], args: list[str], expected: str
) -> None:
    assert output_of(capsys, *args) == (2, expected)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--verison"], framed("option --verison not recognized: did you mean '--version'?")),
        (["rnu", "app.py"], framed("unknown command 'rnu': did you mean 'run'?", "tomodachi run app.py")),
        (["topolgy", "a.py"], framed("unknown command 'topolgy': did you mean 'topology'?", "tomodachi topology a.py")),
        (["strat", "app.py"], framed("unknown command 'strat': did you mean 'start'?", "tomodachi start app.py")),
        (["help", "topolgy"], framed("no help for unknown command 'topolgy': did you mean 'topology'?")),
    ],
)
def test_a_typo_before_the_command_names_the_closest_one(
    no_tomodachi_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], args: list[str], expected: str
) -> None:
    assert output_of(capsys, *args) == (2, expected)


def test_mistakes_go_to_stderr(no_tomodachi_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--invalid"]) == 2
    assert capsys.readouterr().out == ""


# -- mistakes in the run command's options ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--loop", "unknown", "app.py"], "Invalid value for --loop option: 'unknown' not recognized\n"),
        (
            ["--log-level", "foo", "app.py"],
            "Invalid log level: 'foo' (expected 'debug', 'info', 'warning', 'error' or 'critical')\n",
        ),
        (
            ["-l", "loud", "app.py"],
            "Invalid log level: 'loud' (expected 'debug', 'info', 'warning', 'error' or 'critical')\n",
        ),
        (
            ["--logger", "somelogger", "app.py"],
            "Invalid value for --logger option: 'somelogger' (expected 'json', 'console', 'python' or 'disabled')\n",
        ),
        (["app.py", "--logger"], "Missing value for --logger option\n"),
        (["app.py", "--custom-logger"], "Missing value for --custom-logger option\n"),
        (["app.py", "-c"], "Missing config file on command line\n"),
    ],
)
def test_a_bad_option_value_is_reported_in_upstreams_words_alone(
    no_tomodachi_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], args: list[str], expected: str
) -> None:
    assert output_of(capsys, "run", *args) == (2, expected)


def test_a_bad_variable_keeps_our_wording_that_names_it(
    no_tomodachi_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    no_tomodachi_env.setenv("TOMODACHI_LOOP", "tokio")
    code, output = output_of(capsys, "run", "app.py")
    assert code == 2
    assert output.startswith(
        "tomodachi: error: invalid value for TOMODACHI_LOOP: 'tokio' (use auto, asyncio or uvloop)"
    )


def test_a_missing_config_file_is_an_invalid_config_file(
    no_tomodachi_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, output = output_of(capsys, "run", "app.py", "-c", "missing.json")
    assert code == 2
    assert output.startswith("Invalid config file: ")
    assert "missing.json" in output and "invalid JSON format" not in output


def test_a_config_file_that_is_not_json_says_so(
    no_tomodachi_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    Path("broken.json").write_text("{\n    options: 1\n}\n", encoding="utf-8")
    code, output = output_of(capsys, "run", "app.py", "-c", "broken.json")
    assert code == 2
    assert output.startswith("Invalid config file, invalid JSON format: ")
    assert "broken.json" in output and "line 2" in output


# -- the entry point ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("program", ["/venv/bin/pytest", "/venv/lib/python3.11/site-packages/pytest/__main__.py"])
def test_the_entry_point_called_from_pytest_ignores_pytests_command_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], program: str
) -> None:
    monkeypatch.setattr(sys, "argv", [program, "-q", "tests/test_something.py"])
    with pytest.raises(SystemExit) as exited:
        cli_entrypoint()
    assert exited.value.code == 0
    assert capsys.readouterr().out == help_text(None) + "\n"


def test_the_entry_point_reads_the_programs_command_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "argv", ["/usr/local/bin/tomodachi", "--version"])
    with pytest.raises(SystemExit) as exited:
        cli_entrypoint()
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"tomodachi {tomodachi.__version__}\n"


# -- a run --------------------------------------------------------------------------------------------------------


def test_the_banner_has_upstreams_version_line(capsys: pytest.CaptureFixture[str]) -> None:
    print_banner(RunArguments(files=["app.py"]))
    assert f"\n  tomodachi version      ⇢ {tomodachi.__version__}\n" in capsys.readouterr().out


SETS_EXIT_CODE = """
import tomodachi


class Service(tomodachi.Service):
    name = "exit-128"

    async def _start_service(self):
        tomodachi.SERVICE_EXIT_CODE = 128

    async def _started_service(self):
        tomodachi.exit()
"""

EXITS = """
import tomodachi


class Service(tomodachi.Service):
    name = "exits"

    async def _started_service(self):
        tomodachi.exit()
"""

TWO_RUNS = """
import sys

from tomodachi.cli import main

first = main(["run", "--production", "sets_exit_code.py"])
second = main(["run", "--production", "exits.py"])
print(f"exit codes: {first} {second}", file=sys.stderr)
"""


def test_each_run_in_a_process_starts_from_exit_code_0(
    run_tomodachi: Run, write_file: Callable[[str, str], Path]
) -> None:
    write_file("sets_exit_code.py", SETS_EXIT_CODE)
    write_file("exits.py", EXITS)
    write_file("two_runs.py", TWO_RUNS)
    result = run_tomodachi(script="two_runs.py")
    assert "exit codes: 128 0" in result.stderr, result.stdout + result.stderr


def test_a_production_run_logs_its_lifecycle_in_upstreams_words(
    run_tomodachi: Run, write_file: Callable[[str, str], Path]
) -> None:
    write_file("exits.py", EXITS)
    result = run_tomodachi("run", "--production", "exits.py")
    assert result.returncode == 0, result.stderr
    output = result.stdout + result.stderr
    for line in (
        "initializing service instance",
        "starting the service",
        "enabled handler functions",
        "tomodachi.exit [0] was called",
        "stopping service",
        "terminated service",
    ):
        assert line in output
    assert "tomodachi version" not in output  # no banner in production
