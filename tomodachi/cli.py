"""The `tomodachi` command line: `tomodachi run <service files> [options]`, `tomodachi topology <files>`, version and
dependency info. The options themselves are declared in tomodachi.cli_options."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn, TypeVar

import tomodachi
from tomodachi.cli_banner import dependency_versions, print_banner
from tomodachi.cli_errors import (
    RUN_BEFORE_ARGUMENTS,
    HelpRequested,
    UsageError,
    render_usage_error,
    top_level_error,
)
from tomodachi.cli_options import (
    BUSES,
    COMMANDS,
    GLOBAL_OPTIONS,
    RUN_COMMAND,
    RUN_OPTIONS,
    TOPOLOGY_OPTIONS,
    CliOption,
    Scan,
    closest,
    command_help,
    find_command,
    invalid,
    option_for,
    read_brokers,
    read_brokers_config,
    read_format,
    read_inspect,
    read_inspect_config,
    read_log_level,
    read_logger,
    read_loop,
    read_output_path,
    read_switch,
    scan_arguments,
    suggest,
    top_level_help,
)

INSPECT_NEEDS_MEMORY = (
    "--inspect shows the in-memory brokers: use it with --brokers memory (or amqp=memory / aws_sns_sqs=memory)"
)

T = TypeVar("T")


@dataclass
class RunArguments:
    files: list[str] = field(default_factory=list)
    config_files: list[str] = field(default_factory=list)
    production: bool = False
    loop: str = "auto"
    log_level: str = "info"
    logger: str = "console"
    custom_logger: str | None = None
    brokers: dict[str, str] = field(default_factory=lambda: dict.fromkeys(BUSES, "real"))
    inspect: tuple[str, int] | None = None
    topology: str | None = None
    opentelemetry_instrument: bool = False
    config: dict[str, Any] = field(default_factory=dict)  # the -c files merged, without the "run" object


@dataclass
class TopologyArguments:
    files: list[str] = field(default_factory=list)
    format: str = "text"
    output: str | None = None
    config_files: list[str] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)


# -- where a value comes from: flag > environment variable > config file "run" object > default -------------------


def _env(name: str | None) -> str | None:
    """A variable's value; set but empty counts as unset, as compose files and shells often leave them."""
    value = os.environ.get(name, "").strip() if name else ""
    return value or None


def _from_env_or_config(
    option: CliOption,
    run_section: Mapping[str, object],
    read: Callable[[str, str], T],
    read_config: Callable[[object, str], T] | None = None,
) -> T | None:
    """The environment variable if set, else the config file's ``run`` value (through ``read_config`` where JSON
    allows more than a string); ``None`` when neither gives one."""
    env_value = _env(option.env)
    if env_value is not None:
        return read(env_value, str(option.env))
    raw = run_section.get(option.config_key) if option.config_key else None
    if raw is None:
        return None
    source = f"config run.{option.config_key}"
    if read_config is not None:
        return read_config(raw, source)
    if not isinstance(raw, str):
        raise invalid(source, raw, "use a string")
    return read(raw, source)


def _value(
    option: CliOption,
    scan: Scan,
    run_section: Mapping[str, object],
    read: Callable[[str, str], T],
    read_config: Callable[[object, str], T] | None = None,
) -> T | None:
    """The first source that gives a value; lower sources are then not read, nor validated, so a flag overrides
    a bad variable. Of repeated flags the last wins, or all count for a repeatable option (joined by commas)."""
    given = scan.values(option)
    if given:
        value = ",".join(value for _, value in given) if option.repeatable else given[-1][1]
        return read(value, given[-1][0])
    found = _from_env_or_config(option, run_section, read, read_config)
    if found is None and option.default is not None:
        return read(option.default, "default")
    return found


def _defaulted(
    option: CliOption,
    scan: Scan,
    run_section: Mapping[str, object],
    read: Callable[[str, str], T],
    read_config: Callable[[object, str], T] | None = None,
) -> T:
    found = _value(option, scan, run_section, read, read_config)
    assert found is not None, f"{option.dest} has a default in the table"
    return found


def _load_config(files: Sequence[str], command: str) -> tuple[dict[str, Any], dict[str, object]]:
    """The merged config files without their ``run`` object, and that object (the command's own settings)."""
    if not files:
        return {}, {}
    from tomodachi.options import load_config_files

    try:
        config = load_config_files(list(files))
    except Exception as exc:  # missing file / invalid JSON: a usage problem, in upstream's words
        import json

        kind = ", invalid JSON format" if isinstance(exc.__context__, json.JSONDecodeError) else ""
        raise UsageError(f"Invalid config file{kind}: {exc}", command=command, verbatim=True) from exc
    run_section = config.pop("run", None)
    from tomodachi.settings_check import config_errors

    errors = config_errors(config)
    if errors:
        raise UsageError("; ".join(errors), command=command)
    if run_section is None:
        return config, {}
    if not isinstance(run_section, dict):
        raise UsageError('the config file\'s "run" entry must be a JSON object', command=command)
    return config, run_section


def _check_run_section(run_section: Mapping[str, object]) -> None:
    keys = [option.config_key for option in RUN_OPTIONS if option.config_key]
    for key in run_section:
        if key not in keys:
            suggestion = suggest(key, keys) or f" (known keys: {', '.join(keys)})"
            raise UsageError(f'unknown key {key!r} in the config file\'s "run" object{suggestion}')


# -- tomodachi run ------------------------------------------------------------------------------------------------


def parse_run_arguments(args: Sequence[str]) -> RunArguments:
    """Parse what follows `run` and load the -c config files. For every option a flag wins over its environment
    variable, which wins over the config file's ``run`` object, which wins over the default."""
    scan = scan_arguments(args, RUN_OPTIONS, "run")
    if not scan.positional:
        raise UsageError("no service file has been provided: tomodachi run <service.py ...>")

    def option(dest: str) -> CliOption:
        return option_for(RUN_OPTIONS, dest)

    config_files = [value for _, value in scan.values(option("config_files"))]
    config, run_section = _load_config(config_files, "run")
    _check_run_section(run_section)
    parsed = RunArguments(files=scan.positional, config_files=config_files, config=config)
    parsed.production = _defaulted(option("production"), scan, run_section, read_switch)
    parsed.loop = _defaulted(option("loop"), scan, run_section, read_loop)
    parsed.log_level = _defaulted(option("log_level"), scan, run_section, read_log_level)

    logger_given = scan.values(option("logger"))
    logger_flag = read_logger(logger_given[-1][1], logger_given[-1][0]) if logger_given else None
    custom_given = scan.values(option("custom_logger"))
    custom_flag = custom_given[-1][1].strip() if custom_given else None
    # the variable only matters when no flag chose the formatter, so only then can a bad value stop the run
    logger_env = None if logger_flag or custom_flag else _from_env_or_config(option("logger"), {}, read_logger)
    custom_env = _env(option("custom_logger").env) or None
    parsed.logger, parsed.custom_logger = _choose_logger(logger_flag, custom_flag, logger_env or "", custom_env)

    parsed.brokers = _defaulted(option("brokers"), scan, run_section, read_brokers, read_brokers_config)
    parsed.inspect = _value(option("inspect"), scan, run_section, read_inspect, read_inspect_config)
    if parsed.inspect is not None and "memory" not in parsed.brokers.values():
        raise UsageError(INSPECT_NEEDS_MEMORY)
    parsed.topology = _value(option("topology"), scan, run_section, read_output_path)
    parsed.opentelemetry_instrument = _defaulted(option("opentelemetry_instrument"), scan, run_section, read_switch)
    return parsed


def _choose_logger(
    logger_flag: str | None, custom_flag: str | None, logger_env: str, custom_env: str | None
) -> tuple[str, str | None]:
    """The formatter name and custom logger path. Flags win over environment variables; a custom logger path
    implies ``custom`` and contradicting it (another logger, a different path) is a usage error."""
    if custom_flag and custom_env and custom_flag != custom_env:
        raise UsageError(f"--custom-logger {custom_flag!r} differs from TOMODACHI_CUSTOM_LOGGER={custom_env!r}")
    if logger_flag is not None:
        if custom_flag and logger_flag != "custom":
            raise UsageError(f"--custom-logger cannot be combined with --logger {logger_flag}")
        logger = logger_flag
    elif custom_flag:
        logger = "custom"
    elif logger_env:
        if custom_env and logger_env != "custom":
            raise UsageError(f"TOMODACHI_CUSTOM_LOGGER cannot be combined with TOMODACHI_LOGGER={logger_env}")
        logger = logger_env
    else:
        logger = "custom" if custom_env else "console"
    custom = custom_flag or custom_env
    if logger != "custom":
        return logger, None
    if not custom:
        raise UsageError("--logger custom needs --custom-logger <module[.attr]> (or TOMODACHI_CUSTOM_LOGGER)")
    return logger, custom


def _use_custom_logger(path: str, service_files: Sequence[str]) -> None:
    """Import and validate the custom logger before any service starts. Its module usually sits next to the
    service files, so their folders go on sys.path first, as the service importer would put them."""
    from pathlib import Path

    from tomodachi.logging import CustomLoggerError, set_custom_logger

    for file in service_files:
        candidate = Path(file) if Path(file).suffix == ".py" else Path(f"{file}.py")
        folder = str(candidate.resolve().parent)
        if candidate.is_file() and folder not in sys.path:
            sys.path.insert(0, folder)
    try:
        set_custom_logger(path)
    except CustomLoggerError as exc:
        raise UsageError(str(exc)) from exc


OPENTELEMETRY_EXTRA = "pip install 'tomodachi[opentelemetry]'"


def _instrument_with_opentelemetry() -> None:
    """--opentelemetry-instrument: checked now (a usage error without the extra); set up with the first service."""
    try:
        from tomodachi.opentelemetry.auto_instrumentation import initialize
    except ImportError as exc:
        raise UsageError(
            f"--opentelemetry-instrument needs the OpenTelemetry packages ({exc}): {OPENTELEMETRY_EXTRA}"
        ) from exc
    initialize()


def run_command(args: Sequence[str]) -> int:
    arguments = parse_run_arguments(args)
    # every run starts from the default exit code, not from one a previous run in this process left behind
    tomodachi.SERVICE_EXIT_CODE = tomodachi.DEFAULT_SERVICE_EXIT_CODE
    from tomodachi.logging import configure

    if arguments.custom_logger is not None:
        _use_custom_logger(arguments.custom_logger, arguments.files)
    configure(arguments.log_level, arguments.logger)
    if arguments.loop == "uvloop":
        try:
            import uvloop  # noqa: F401
        except ImportError as exc:
            raise UsageError("the 'uvloop' package is missing: pip install 'tomodachi[uvloop]'") from exc
    if arguments.opentelemetry_instrument:
        _instrument_with_opentelemetry()
    if not arguments.production:
        print_banner(arguments)
    watcher_options = dict(arguments.config.get("options", {}).get("watcher", {}))
    from tomodachi.runtime.launcher import Launcher, run_launcher

    launcher = Launcher(
        arguments.files,
        config=arguments.config,
        watch=not arguments.production,
        watcher_options=watcher_options,
        brokers=arguments.brokers,
        inspect=arguments.inspect,
        topology_file=arguments.topology,
    )
    return run_launcher(launcher, loop=arguments.loop)


# -- tomodachi topology -------------------------------------------------------------------------------------------


def parse_topology_arguments(args: Sequence[str]) -> TopologyArguments:
    scan = scan_arguments(args, TOPOLOGY_OPTIONS, "topology")
    if not scan.positional:
        raise UsageError("no service file has been provided: tomodachi topology <service.py ...>")
    config_files = [value for _, value in scan.values(option_for(TOPOLOGY_OPTIONS, "config_files"))]
    config, _run_settings = _load_config(config_files, "topology")  # the run command's own settings: not used here
    return TopologyArguments(
        files=scan.positional,
        format=_defaulted(option_for(TOPOLOGY_OPTIONS, "format"), scan, {}, read_format),
        output=_value(option_for(TOPOLOGY_OPTIONS, "output"), scan, {}, read_output_path),
        config_files=config_files,
        config=config,
    )


def topology_main(args: Sequence[str]) -> int:
    arguments = parse_topology_arguments(args)
    from tomodachi.topology.command import topology_command

    return topology_command(arguments.files, format=arguments.format, output=arguments.output, config=arguments.config)


# -- entry point --------------------------------------------------------------------------------------------------

COMMAND_FUNCTIONS: dict[str, Callable[[Sequence[str]], int]] = {"run": run_command, "topology": topology_main}


def help_text(command: str | None) -> str:
    found = find_command(command) if command else None
    return command_help(found) if found else top_level_help()


def _misplaced_option(args: list[str]) -> NoReturn:
    """An option before any command: a command's option put before the command's name, or an unknown one."""
    flag = args[0].partition("=")[0]
    named = next((found for arg in args if (found := find_command(arg)) is not None), None)
    if named is None and flag in (name for option in RUN_OPTIONS for name in option.all_flags):
        named = RUN_COMMAND
    if named is None:
        global_flags = [name for option in GLOBAL_OPTIONS for name in option.flags]
        raise top_level_error(f"option {flag} not recognized{suggest(flag, global_flags)}")
    rest = list(args)
    typed = next((arg for arg in rest if find_command(arg) is named), None)
    if typed is not None:
        rest.remove(typed)
    retry = f"tomodachi {named.name} {' '.join(rest)}" if any(arg.endswith(".py") for arg in args) else None
    raise top_level_error(f"the command {named.name!r} must be specified before any options", retry=retry)


def _unknown_command(args: list[str]) -> NoReturn:
    names = [name for command in COMMANDS for name in (command.name, *command.aliases)]
    meant = closest(args[0], names)
    if meant is not None:
        corrected = " ".join(["tomodachi", meant, *args[1:]])
        raise top_level_error(f"unknown command {args[0]!r}: did you mean {meant!r}?", retry=corrected)
    retry = f"tomodachi run {' '.join(args)}" if any(arg.endswith(".py") for arg in args) else None
    raise top_level_error(RUN_BEFORE_ARGUMENTS, retry=retry)


def _dispatch(args: list[str]) -> int:
    names = [name for command in COMMANDS for name in (command.name, *command.aliases)]
    if not args or args[0] in (*option_for(GLOBAL_OPTIONS, "help").all_flags, "help"):
        asked = args[1] if args[:1] == ["help"] and len(args) > 1 else None
        if asked is not None and find_command(asked) is None:
            raise top_level_error(f"no help for unknown command {asked!r}{suggest(asked, names)}")
        print(help_text(asked))
        return 0
    if args[0] in (*option_for(GLOBAL_OPTIONS, "version").all_flags, "version"):
        print(f"tomodachi {tomodachi.__version__}")
        return 0
    if args[0] in option_for(GLOBAL_OPTIONS, "dependency_versions").all_flags:
        print("\n".join(dependency_versions()))
        return 0
    if args[0] in option_for(GLOBAL_OPTIONS, "opentelemetry_instrument").all_flags:
        # upstream's form: tomodachi --opentelemetry-instrument run <service.py ...>
        command = find_command(args[1]) if len(args) > 1 else None
        if command is None or command.name != "run":
            raise top_level_error(f"{args[0]} goes with the run command: tomodachi {args[0]} run <service.py ...>")
        return run_command([*args[2:], args[0]])
    command = find_command(args[0])
    if command is not None:
        return COMMAND_FUNCTIONS[command.name](args[1:])
    if args[0].startswith("-"):
        _misplaced_option(args)
    _unknown_command(args)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    found = find_command(args[0]) if args else None
    if found is None and len(args) > 1 and args[0] in option_for(GLOBAL_OPTIONS, "opentelemetry_instrument").flags:
        following = find_command(args[1])
        found = following if following is not None and following.name == "run" else None
    current = found.name if found else ""
    try:
        return _dispatch(args)
    except HelpRequested as exc:
        print(help_text(exc.command))
        return 0
    except UsageError as exc:
        command = current if exc.command is None else exc.command
        print(render_usage_error(exc, command, help_text), file=sys.stderr)
        return 2


class CLI:
    """Upstream's CLI class: its command methods print what ``tomodachi`` prints and exit as it does."""

    def help_command_usage(self) -> str:
        return help_text(None)

    def help_command(self) -> NoReturn:
        print(self.help_command_usage())
        sys.exit(0)

    def version_command(self) -> NoReturn:
        print(f"tomodachi {tomodachi.__version__}")
        sys.exit(0)

    def dependency_versions_command(self) -> NoReturn:
        print("\n".join(dependency_versions()))
        sys.exit(0)

    def run_command(self, args: Sequence[str]) -> NoReturn:
        if not args:
            self.help_command()
        sys.exit(main(["run", *args]))

    def main(self, argv: Sequence[str]) -> NoReturn:
        sys.exit(main(list(argv)))


def _command_line() -> list[str]:
    """``sys.argv`` after the program name, except under pytest: a test calling ``cli_entrypoint()`` without
    arguments means a bare ``tomodachi``, not pytest's own command line (upstream's entry point did the same)."""
    from pathlib import Path

    program = Path(sys.argv[0]) if sys.argv and sys.argv[0] else Path()
    under_pytest = program.name in ("pytest", "py.test") or (
        program.name == "__main__.py" and program.parent.name == "pytest"
    )
    return [] if under_pytest else sys.argv[1:]


def cli_entrypoint(argv: Sequence[str] | None = None) -> NoReturn:
    """The console script: ``argv`` is a whole command line, program name first (``sys.argv`` when not given),
    as upstream's entry point took it."""
    sys.exit(main(list(argv)[1:] if argv is not None else _command_line()))


__all__ = [
    "CLI",
    "HelpRequested",
    "RunArguments",
    "TopologyArguments",
    "UsageError",
    "cli_entrypoint",
    "main",
    "parse_run_arguments",
    "parse_topology_arguments",
    "print_banner",
    "run_command",
    "topology_main",
]
