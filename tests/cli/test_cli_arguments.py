"""Command-line parsing: help, version, usage errors (exit 2), -c files, TOMODACHI_* variables, and the
run options --brokers, --inspect and --topology with their variables and config file "run" object."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import tomodachi
from tomodachi.cli import UsageError, parse_run_arguments
from tomodachi.cli_options import RUN_OPTIONS

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
        (["run", "service.py", "--loop", "tokio"], "Invalid value for --loop option: 'tokio' not recognized"),
        (["run", "service.py", "--log-level", "loud"], "Invalid log level: 'loud'"),
        (["run", "service.py", "--logger", "xml"], "Invalid value for --logger option: 'xml'"),
        (["service.py"], "maybe you intended to run something like this?\n$ tomodachi run service.py"),
        (["launch"], "the command 'run' must be specified before any service files or options"),
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
def no_tomodachi_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """No run option's variable is set, and the working folder is tmp_path (where config files are written)."""
    for option in RUN_OPTIONS:
        if option.env:
            monkeypatch.delenv(option.env, raising=False)
    monkeypatch.chdir(tmp_path)
    return monkeypatch


def write_json(name: str, data: dict[str, Any]) -> str:
    Path(name).write_text(json.dumps(data), encoding="utf-8")
    return name


def test_config_flag_does_not_swallow_service_files(no_tomodachi_env: pytest.MonkeyPatch) -> None:
    write_json("a.json", {"options": {"http": {"port": 1}}})
    write_json("b.json", {"options": {"http": {"port": 2}}})
    parsed = parse_run_arguments(["-c", "a.json", "b.json", "service.py", "other.py", "--production"])
    assert parsed.config_files == ["a.json", "b.json"]
    assert parsed.files == ["service.py", "other.py"]
    assert parsed.production
    assert parsed.config == {"options": {"http": {"port": 2}}}  # loaded and merged in order


def test_missing_config_file_is_a_usage_error_when_parsing(no_tomodachi_env: pytest.MonkeyPatch) -> None:
    with pytest.raises(UsageError, match="missing.json"):
        parse_run_arguments(["s.py", "-c", "missing.json"])


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


@pytest.mark.parametrize("value", ["0", "no", "false", "off", "", "OFF", " False "])
def test_production_env_false_values(no_tomodachi_env: pytest.MonkeyPatch, value: str) -> None:
    no_tomodachi_env.setenv("TOMODACHI_PRODUCTION", value)
    assert not parse_run_arguments(["s.py"]).production


@pytest.mark.parametrize("value", ["1", "yes", "true", "on", "TRUE"])
def test_production_env_true_values(no_tomodachi_env: pytest.MonkeyPatch, value: str) -> None:
    no_tomodachi_env.setenv("TOMODACHI_PRODUCTION", value)
    assert parse_run_arguments(["s.py"]).production


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("TOMODACHI_LOOP", "tokio", "invalid value for TOMODACHI_LOOP: 'tokio' (use auto, asyncio or uvloop)"),
        ("TOMODACHI_LOG_LEVEL", "verbose", "invalid log level for TOMODACHI_LOG_LEVEL: 'verbose'"),
        ("TOMODACHI_LOGGER", "xml", "invalid logger for TOMODACHI_LOGGER: 'xml'"),
        ("TOMODACHI_PRODUCTION", "maybe", "invalid value for TOMODACHI_PRODUCTION: 'maybe'"),
        ("TOMODACHI_BROKERS", "fast", "invalid value for TOMODACHI_BROKERS: 'fast'"),
        ("TOMODACHI_INSPECT", "port", "invalid value for TOMODACHI_INSPECT: 'port'"),
    ],
)
def test_invalid_environment_values_are_usage_errors_naming_the_variable(
    no_tomodachi_env: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    no_tomodachi_env.setenv(name, value)
    with pytest.raises(UsageError) as error:
        parse_run_arguments(["s.py", "--brokers", "memory"] if name == "TOMODACHI_INSPECT" else ["s.py"])
    assert str(error.value).startswith(message)


@pytest.mark.parametrize(
    ("name", "value", "args"),
    [
        ("TOMODACHI_LOOP", "tokio", ["--loop", "asyncio"]),
        ("TOMODACHI_LOG_LEVEL", "verbose", ["-l", "info"]),
        ("TOMODACHI_LOGGER", "xml", ["--logger", "json"]),
        ("TOMODACHI_PRODUCTION", "maybe", ["--production"]),
        ("TOMODACHI_BROKERS", "fast", ["--brokers", "real"]),
    ],
)
def test_a_flag_overrides_an_invalid_variable_without_reading_it(
    no_tomodachi_env: pytest.MonkeyPatch, name: str, value: str, args: list[str]
) -> None:
    no_tomodachi_env.setenv(name, value)
    parse_run_arguments(["s.py", *args])


@pytest.mark.parametrize("name", ["TOMODACHI_LOOP", "TOMODACHI_LOG_LEVEL", "TOMODACHI_LOGGER", "TOMODACHI_BROKERS"])
def test_empty_variables_count_as_unset(no_tomodachi_env: pytest.MonkeyPatch, name: str) -> None:
    no_tomodachi_env.setenv(name, "")
    parsed = parse_run_arguments(["s.py"])
    assert (parsed.loop, parsed.log_level, parsed.logger, parsed.brokers["amqp"]) == ("auto", "info", "console", "real")


def test_options_take_their_value_after_an_equals_sign(no_tomodachi_env: pytest.MonkeyPatch) -> None:
    parsed = parse_run_arguments(["s.py", "--loop=uvloop", "--log-level=debug", "--brokers=memory"])
    assert (parsed.loop, parsed.log_level, parsed.brokers["amqp"]) == ("uvloop", "debug", "memory")


@pytest.mark.parametrize("args", [["--production=1"], ["--opentelemetry-instrument=1"], ["-c", "", "x"]])
def test_other_misuses_are_usage_errors(no_tomodachi_env: pytest.MonkeyPatch, args: list[str]) -> None:
    with pytest.raises(UsageError):
        parse_run_arguments(["s.py", *args])


@pytest.mark.parametrize(
    "args", [["s.py", "-c"], ["s.py", "-c", "--production"], ["s.py", "--log-level"], ["s.py", "--loop"]]
)
def test_flags_missing_their_value(no_tomodachi_env: pytest.MonkeyPatch, args: list[str]) -> None:
    with pytest.raises(UsageError):
        parse_run_arguments(args)


# -- --brokers ----------------------------------------------------------------------------------------------------

BOTH_REAL = {"amqp": "real", "aws_sns_sqs": "real"}
BOTH_MEMORY = {"amqp": "memory", "aws_sns_sqs": "memory"}
AMQP_MEMORY = {"amqp": "memory", "aws_sns_sqs": "real"}
SNS_MEMORY = {"amqp": "real", "aws_sns_sqs": "memory"}


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([], BOTH_REAL),
        (["--brokers", "real"], BOTH_REAL),
        (["--brokers", "memory"], BOTH_MEMORY),
        (["--brokers", "MEMORY"], BOTH_MEMORY),
        (["--brokers", "amqp=memory"], AMQP_MEMORY),
        (["--brokers", "rabbitmq=memory"], AMQP_MEMORY),
        (["--brokers", "aws_sns_sqs=memory"], SNS_MEMORY),
        (["--brokers", "sns_sqs=memory"], SNS_MEMORY),
        (["--brokers", "aws=memory"], SNS_MEMORY),
        (["--brokers", "sns=memory"], SNS_MEMORY),
        (["--brokers", "sqs=memory"], SNS_MEMORY),
        (["--brokers", "amqp=memory, aws_sns_sqs=memory"], BOTH_MEMORY),
        (["--brokers", "memory,sns=real"], AMQP_MEMORY),
        (["--brokers", "memory", "--brokers", "sqs=real"], AMQP_MEMORY),
        (["--brokers", "amqp=memory", "--brokers", "sns=memory"], BOTH_MEMORY),
        (["--brokers", "amqp=memory", "--brokers", "real"], BOTH_REAL),
    ],
)
def test_brokers_specs(no_tomodachi_env: pytest.MonkeyPatch, args: list[str], expected: dict[str, str]) -> None:
    assert parse_run_arguments(["s.py", *args]).brokers == expected


def test_invalid_brokers_spec_message(no_tomodachi_env: pytest.MonkeyPatch) -> None:
    with pytest.raises(UsageError) as error:
        parse_run_arguments(["s.py", "--brokers", "amqp=fast"])
    assert str(error.value) == (
        "invalid value for --brokers: 'amqp=fast' (use memory or real, or BUS=memory|real with BUS amqp or aws_sns_sqs)"
    )


@pytest.mark.parametrize("spec", ["fast", "kafka=memory", "amqp", "amqp=", "=memory", "memory,,real", ""])
def test_invalid_brokers_specs_are_usage_errors(no_tomodachi_env: pytest.MonkeyPatch, spec: str) -> None:
    with pytest.raises(UsageError, match="invalid value for --brokers"):
        parse_run_arguments(["s.py", f"--brokers={spec}"])


# -- --inspect ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("8080", ("127.0.0.1", 8080)),
        ("0", ("127.0.0.1", 0)),
        ("65535", ("127.0.0.1", 65535)),
        (":9000", ("127.0.0.1", 9000)),
        ("0.0.0.0:9000", ("0.0.0.0", 9000)),
        ("localhost:1", ("localhost", 1)),
        ("[::1]:9000", ("::1", 9000)),
    ],
)
def test_inspect_host_and_port(no_tomodachi_env: pytest.MonkeyPatch, value: str, expected: tuple[str, int]) -> None:
    assert parse_run_arguments(["s.py", "--brokers", "memory", "--inspect", value]).inspect == expected


@pytest.mark.parametrize("value", ["65536", "port", "host:", "1.5", "８０"])
def test_invalid_inspect_values(no_tomodachi_env: pytest.MonkeyPatch, value: str) -> None:
    with pytest.raises(UsageError, match=r"invalid value for --inspect: .* \(use \[HOST:\]PORT with PORT 0\.\.65535\)"):
        parse_run_arguments(["s.py", "--brokers", "memory", "--inspect", value])


def test_inspect_is_off_by_default(no_tomodachi_env: pytest.MonkeyPatch) -> None:
    assert parse_run_arguments(["s.py", "--brokers", "memory"]).inspect is None


def test_inspect_needs_a_bus_in_memory(no_tomodachi_env: pytest.MonkeyPatch) -> None:
    with pytest.raises(UsageError) as error:
        parse_run_arguments(["s.py", "--inspect", "8080"])
    assert str(error.value) == (
        "--inspect shows the in-memory brokers: use it with --brokers memory (or amqp=memory / aws_sns_sqs=memory)"
    )
    assert parse_run_arguments(["s.py", "--inspect", "8080", "--brokers", "sns=memory"]).inspect == ("127.0.0.1", 8080)


# -- --topology ---------------------------------------------------------------------------------------------------


def test_topology_file(no_tomodachi_env: pytest.MonkeyPatch) -> None:
    assert parse_run_arguments(["s.py"]).topology is None
    assert parse_run_arguments(["s.py", "--topology", "flows.mmd"]).topology == "flows.mmd"
    with pytest.raises(UsageError, match="invalid value for --topology"):
        parse_run_arguments(["s.py", "--topology="])


# -- where a value comes from: flag > variable > config file "run" object > default --------------------------------


@pytest.mark.parametrize(
    ("flag", "env", "config", "expected"),
    [
        (None, None, None, ("real", None, None)),
        (None, None, "memory", ("memory", ("127.0.0.1", 7000), "config.mmd")),
        (None, "memory", "real", ("memory", ("127.0.0.1", 8000), "env.mmd")),
        ("memory", "real", "real", ("memory", ("127.0.0.1", 9000), "flag.mmd")),
    ],
)
def test_precedence_of_flag_variable_config_and_default(
    no_tomodachi_env: pytest.MonkeyPatch,
    flag: str | None,
    env: str | None,
    config: str | None,
    expected: tuple[str, tuple[str, int] | None, str | None],
) -> None:
    args = ["s.py"]
    if config is not None:
        run = {"brokers": config, "inspect": 7000, "topology": "config.mmd"}
        args += ["-c", write_json("config.json", {"run": run})]
    if env is not None:
        no_tomodachi_env.setenv("TOMODACHI_BROKERS", env)
        no_tomodachi_env.setenv("TOMODACHI_INSPECT", "8000")
        no_tomodachi_env.setenv("TOMODACHI_TOPOLOGY", "env.mmd")
    if flag is not None:
        args += ["--brokers", flag, "--inspect", "9000", "--topology", "flag.mmd"]
    parsed = parse_run_arguments(args)
    assert (parsed.brokers["amqp"], parsed.inspect, parsed.topology) == expected


@pytest.mark.parametrize(
    ("brokers", "expected"),
    [
        ("amqp=memory", AMQP_MEMORY),
        (["memory", "sns=real"], AMQP_MEMORY),
        ({"amqp": "real", "sqs": "memory"}, SNS_MEMORY),
    ],
)
def test_config_brokers_may_be_a_spec_a_list_or_an_object(
    no_tomodachi_env: pytest.MonkeyPatch, brokers: object, expected: dict[str, str]
) -> None:
    config = write_json("config.json", {"run": {"brokers": brokers, "inspect": "0.0.0.0:7000"}})
    parsed = parse_run_arguments(["s.py", "-c", config])
    assert (parsed.brokers, parsed.inspect) == (expected, ("0.0.0.0", 7000))


@pytest.mark.parametrize(
    ("run", "message"),
    [
        ({"brokers": "amqp=fast"}, "invalid value for config run.brokers: 'amqp=fast'"),
        ({"brokers": 3}, "invalid value for config run.brokers: 3"),
        ({"brokers": "memory", "inspect": True}, "invalid value for config run.inspect: True"),
        ({"topology": ["a"]}, "invalid value for config run.topology"),
        ({"broker": "memory"}, "unknown key 'broker' in the config file's \"run\" object: did you mean 'brokers'?"),
        ({"color": "red"}, "unknown key 'color' in the config file's \"run\" object (known keys: brokers, inspect,"),
        ({"inspect": 8080}, "--inspect shows the in-memory brokers"),
    ],
)
def test_invalid_config_run_objects(no_tomodachi_env: pytest.MonkeyPatch, run: dict[str, Any], message: str) -> None:
    config = write_json("config.json", {"run": run})
    with pytest.raises(UsageError) as error:
        parse_run_arguments(["s.py", "-c", config])
    assert str(error.value).startswith(message)


def test_config_run_entry_must_be_an_object(no_tomodachi_env: pytest.MonkeyPatch) -> None:
    with pytest.raises(UsageError, match='"run" entry must be a JSON object'):
        parse_run_arguments(["s.py", "-c", write_json("config.json", {"run": "memory"})])


def test_config_run_object_is_removed_from_the_config_passed_on(no_tomodachi_env: pytest.MonkeyPatch) -> None:
    first = write_json("a.json", {"run": {"brokers": "memory"}, "options": {"http": {"port": 1}}})
    second = write_json("b.json", {"run": {"topology": "flows.mmd"}, "custom": 1})
    parsed = parse_run_arguments(["s.py", "-c", first, second])
    assert parsed.config == {"options": {"http": {"port": 1}}, "custom": 1}
    assert (parsed.brokers, parsed.topology) == (BOTH_MEMORY, "flows.mmd")  # the files' run objects merged
