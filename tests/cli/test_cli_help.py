"""The command line's help (every command, every option of the table with its variable and default), its
did-you-mean answers to typos, the start-up banner's brokers line, and the `tomodachi topology` command."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

import tomodachi.topology.command
from tomodachi.cli import RunArguments, UsageError, main, parse_topology_arguments, print_banner
from tomodachi.cli_options import GLOBAL_OPTIONS, RUN_OPTIONS, TOPOLOGY_OPTIONS, CliOption

Run = Callable[..., Any]


def flat(text: str) -> str:
    """Help text with its line wrapping undone, so a phrase can be found wherever the columns broke it."""
    return " ".join(text.split())


def run_main(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def no_tomodachi_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    for option in RUN_OPTIONS:
        if option.env:
            monkeypatch.delenv(option.env, raising=False)
    monkeypatch.chdir(tmp_path)
    return monkeypatch


# -- help ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("args", [[], ["-h"], ["--help"], ["help"]])
def test_top_level_help_lists_commands_aliases_and_global_options(run_tomodachi: Run, args: list[str]) -> None:
    result = run_tomodachi(*args)
    assert result.returncode == 0, result.stderr
    text = flat(result.stdout)
    assert "Usage: tomodachi" in text and "tomodachi run <service" in text
    assert "run (aliases: start, go)" in text
    assert "tomodachi topology <service.py ...>" in text
    for option in GLOBAL_OPTIONS:
        assert ", ".join(option.flags) in text


@pytest.mark.parametrize(
    "args",
    [
        ["run", "-h"],
        ["run", "--help"],
        ["run", "a.py", "--help"],
        ["run", "a.py", "--loop", "asyncio", "-h"],
        ["run", "a.py", "--no-such-option", "-h"],
        ["start", "-h"],
        ["go", "a.py", "--help"],
        ["help", "run"],
        ["help", "go"],
    ],
)
def test_run_help_anywhere_exits_0(capsys: pytest.CaptureFixture[str], args: list[str]) -> None:
    code, out, err = run_main(capsys, *args)
    assert (code, err) == (0, "")
    assert out.startswith("Usage: tomodachi run <service.py ...>")


def test_run_help_in_a_subprocess_after_service_files(run_tomodachi: Run) -> None:
    result = run_tomodachi("run", "missing.py", "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Usage: tomodachi run")
    assert re.search(
        r"^  --loop \{auto,asyncio,uvloop\} +Event loop implementation \(env TOMODACHI_LOOP, default: auto\)$",
        result.stdout,
        flags=re.MULTILINE,
    ), result.stdout


@pytest.mark.parametrize("args", [["topology", "-h"], ["topology", "a.py", "--help"], ["help", "topology"]])
def test_topology_help(capsys: pytest.CaptureFixture[str], args: list[str]) -> None:
    code, out, _ = run_main(capsys, *args)
    assert code == 0
    assert out.startswith("Usage: tomodachi topology <service.py ...>")


def test_topology_help_in_a_subprocess(run_tomodachi: Run) -> None:
    result = run_tomodachi("topology", "--help")
    assert result.returncode == 0, result.stderr
    assert "--format {text,mermaid,json}" in result.stdout
    assert "(default: text)" in flat(result.stdout)


def option_lines(option: CliOption) -> list[str]:
    """What the help must show for ``option``: its flags with choices or metavar, its variable, its default."""
    label = ", ".join(option.flags)
    if option.choices:
        label += " {" + ",".join(option.choices) + "}"
    elif option.metavar:
        label += f" {option.metavar}"
    expected = [label, flat(option.help)]
    if option.env:
        expected.append(f"env {option.env}")
    if option.config_key:
        expected.append(f"config run.{option.config_key}")
    if option.default is not None:
        expected.append(f"default: {option.default}")
    return expected


@pytest.mark.parametrize(
    ("args", "options"),
    [(["--help"], GLOBAL_OPTIONS), (["run", "--help"], RUN_OPTIONS), (["topology", "--help"], TOPOLOGY_OPTIONS)],
)
def test_help_shows_every_option_of_the_table(
    capsys: pytest.CaptureFixture[str], args: list[str], options: Sequence[CliOption]
) -> None:
    _, out, _ = run_main(capsys, *args)
    text = flat(out)
    for option in options:
        for expected in option_lines(option):
            assert expected in text, f"{expected!r} missing from {args} help"
    assert not any(flag in text for option in options for flag in option.hidden_flags)


def test_run_help_shows_the_real_defaults_and_the_config_run_object(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run_main(capsys, "run", "--help")
    text = flat(out)
    assert "Event loop implementation (env TOMODACHI_LOOP, default: auto)" in text
    assert "(env TOMODACHI_BROKERS, config run.brokers, default: real)" in text
    assert "--production Disable the file watcher" in text
    assert 'top-level "run" object with the keys brokers, inspect, topology' in text
    assert "Precedence: option, then environment variable" in text


# -- did you mean -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "s.py", "--broker", "memory"], "unknown option '--broker': did you mean '--brokers'?"),
        (["run", "s.py", "--prodution"], "unknown option '--prodution': did you mean '--production'?"),
        (["run", "s.py", "--log-levle", "info"], "unknown option '--log-levle': did you mean '--log-level'?"),
        (["run", "s.py", "--inspekt=8080"], "unknown option '--inspekt': did you mean '--inspect'?"),
        (["topology", "s.py", "--formt", "json"], "unknown option '--formt': did you mean '--format'?"),
    ],
)
def test_typos_get_a_suggestion_and_a_pointer_to_the_help(
    capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, out, err = run_main(capsys, *args)
    assert (code, out) == (2, "")
    assert err.splitlines()[0] == f"tomodachi: error: {message}"
    assert "--help' for usage." in err


@pytest.mark.parametrize(
    ("args", "message", "usage"),
    [
        (["run", "s.py", "--xyz"], "unknown option '--xyz'", "Usage: tomodachi run"),
        (["topology", "s.py", "-q"], "unknown option '-q'", "Usage: tomodachi topology"),
    ],
)
def test_unknown_names_without_a_close_match_print_the_help(
    capsys: pytest.CaptureFixture[str], args: list[str], message: str, usage: str
) -> None:
    code, _, err = run_main(capsys, *args)
    assert code == 2
    assert err.splitlines()[0] == f"tomodachi: error: {message}"
    assert usage in err


def test_usage_error_in_a_subprocess_has_no_traceback(run_tomodachi: Run) -> None:
    result = run_tomodachi("run", "s.py", "--broker", "memory")
    assert result.returncode == 2
    assert "tomodachi: error: unknown option '--broker': did you mean '--brokers'?" in result.stderr
    assert "Traceback" not in result.stderr


def test_invalid_variable_in_a_subprocess_names_it(run_tomodachi: Run) -> None:
    result = run_tomodachi("run", "s.py", env={"TOMODACHI_LOOP": "tokio"})
    assert result.returncode == 2
    assert "invalid value for TOMODACHI_LOOP: 'tokio' (use auto, asyncio or uvloop)" in result.stderr
    assert "Traceback" not in result.stderr


# -- the banner ---------------------------------------------------------------------------------------------------


def test_banner_shows_the_brokers_only_when_a_bus_is_in_memory(capsys: pytest.CaptureFixture[str]) -> None:
    print_banner(RunArguments(files=["s.py"]))
    assert "message brokers" not in capsys.readouterr().out
    print_banner(RunArguments(files=["s.py"], brokers={"amqp": "memory", "aws_sns_sqs": "real"}))
    assert "  message brokers        ⇢ amqp: memory, aws_sns_sqs: real\n" in capsys.readouterr().out


def test_banner_says_which_loop_auto_chose(capsys: pytest.CaptureFixture[str]) -> None:
    print_banner(RunArguments(files=["s.py"]))
    assert "  event loop             ⇢ asyncio (auto)\n" in capsys.readouterr().out
    print_banner(RunArguments(files=["s.py"], loop="uvloop"))
    assert "  event loop             ⇢ uvloop\n" in capsys.readouterr().out


EXITING_SERVICE = """
import tomodachi


class Service(tomodachi.Service):
    name = "exits"

    async def _started_service(self):
        tomodachi.exit(0)
"""


def test_run_with_brokers_in_memory_shows_them_in_the_banner(
    run_tomodachi: Run, write_file: Callable[[str, str], Path]
) -> None:
    write_file("service.py", EXITING_SERVICE)
    result = run_tomodachi("run", "service.py", "--brokers", "memory")
    assert result.returncode == 0, result.stderr
    assert "  message brokers        ⇢ amqp: memory, aws_sns_sqs: memory" in result.stdout


# -- tomodachi topology -------------------------------------------------------------------------------------------


def test_topology_arguments(no_tomodachi_env: pytest.MonkeyPatch) -> None:
    Path("c.json").write_text('{"run": {"anything": 1}, "options": {"http": {"port": 1}}}', encoding="utf-8")
    parsed = parse_topology_arguments(["a.py", "--format", "MERMAID", "-o", "out.mmd", "b.py", "-c", "c.json"])
    assert (parsed.files, parsed.format, parsed.output) == (["a.py", "b.py"], "mermaid", "out.mmd")
    assert parsed.config == {"options": {"http": {"port": 1}}}  # the run object is the run command's: dropped
    defaults = parse_topology_arguments(["a.py"])
    assert (defaults.format, defaults.output, defaults.config) == ("text", None, {})
    assert parse_topology_arguments(["a.py", "--output=x.json", "--format=json"]).output == "x.json"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "no service file has been provided: tomodachi topology <service.py ...>"),
        (["--format", "json"], "no service file has been provided"),
        (["a.py", "--format", "xml"], "invalid value for --format: 'xml' (use text, mermaid or json)"),
        (["a.py", "-o"], "Missing value for -o option"),
        (["a.py", "-c", "missing.json"], "missing.json"),
    ],
)
def test_topology_usage_errors(no_tomodachi_env: pytest.MonkeyPatch, args: list[str], message: str) -> None:
    with pytest.raises(UsageError) as error:
        parse_topology_arguments(args)
    assert message in str(error.value)


def test_topology_command_gets_the_parsed_arguments_and_gives_the_exit_code(
    no_tomodachi_env: pytest.MonkeyPatch,
) -> None:
    calls: list[tuple[list[str], str, str | None, dict[str, Any]]] = []

    def fake(files: Sequence[str], *, format: str, output: str | None, config: dict[str, Any]) -> int:
        calls.append((list(files), format, output, config))
        return 3

    no_tomodachi_env.setattr(tomodachi.topology.command, "topology_command", fake)
    assert main(["topology", "a.py", "--format", "json", "-o", "out.json"]) == 3
    assert calls == [(["a.py"], "json", "out.json", {})]


def test_upstreams_cli_class_prints_what_the_command_prints(capsys: Any) -> None:
    from tomodachi.cli import CLI

    cli = CLI()
    for call in (cli.help_command, lambda: cli.run_command([])):
        with pytest.raises(SystemExit) as exited:
            call()
        assert exited.value.code == 0
        assert capsys.readouterr().out == cli.help_command_usage() + "\n"
    assert main(["--help"]) == 0
    assert capsys.readouterr().out == cli.help_command_usage() + "\n"
    with pytest.raises(SystemExit):
        cli.version_command()
    assert capsys.readouterr().out == f"tomodachi {tomodachi.__version__}\n"
