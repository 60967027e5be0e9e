"""The `tomodachi` command line: `tomodachi run <service files> [options]`, version and dependency info."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn

import tomodachi

USAGE = """Usage: tomodachi <command> [options] [arguments]

Options:
  -h, --help                                Show this help message and exit
  -v, --version                             Print tomodachi version
  --dependency-versions                     Print versions of dependencies

Available commands:
  ---
  Command: run
  Starts service(s) defined in the .py files specified as <service> argument(s)

  $ tomodachi run <service ...> [-c <config-file ...>] [--production]
  | --loop [auto|asyncio|uvloop]            Event loop implementation [asyncio]
  | --production                            Disable restart on file changes
  | -c, --config <files>                    Use configuration from JSON files
  | -l, --log <level>, --log-level <level>  Specify log level (debug, info, warning, error, critical)
  | --logger [console|json|python|disabled|custom]  Log formatter [console]
  | --custom-logger <module[.attr]>         Forward logs to your logger: the logging module, a class,
  |                                         or an object with new(), bind() or get_logger()
"""

LOOPS = {
    "auto": "auto",
    "default": "auto",
    "asyncio": "asyncio",
    "aio": "asyncio",
    "async": "asyncio",
    "uvloop": "uvloop",
    "libuv": "uvloop",
    "uv": "uvloop",
}
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")
LOGGERS = ("console", "json", "python", "disabled", "custom")
FALSE_VALUES = ("", "0", "no", "none", "false", "off")


class UsageError(Exception):
    """Bad command line: printed with a hint, exit code 2."""


@dataclass
class RunArguments:
    files: list[str] = field(default_factory=list)
    config_files: list[str] = field(default_factory=list)
    production: bool = False
    loop: str = "auto"
    log_level: str = "info"
    logger: str = "console"
    custom_logger: str | None = None


def _env(name: str) -> str | None:
    value = os.environ.get(name)
    return value.strip() if value is not None else None


def _take_value(args: list[str], index: int, flag: str) -> str:
    if index + 1 >= len(args) or args[index + 1].startswith("-"):
        raise UsageError(f"option {flag} needs a value")
    return args[index + 1]


def parse_run_arguments(args: Sequence[str]) -> RunArguments:
    """Parse what follows `run`. Environment variables give defaults; flags win over them."""
    parsed = RunArguments()
    production_env = _env("TOMODACHI_PRODUCTION")
    parsed.production = production_env is not None and production_env.lower() not in FALSE_VALUES
    loop_env = _env("TOMODACHI_LOOP")
    if loop_env and loop_env.lower() in LOOPS:
        parsed.loop = LOOPS[loop_env.lower()]
    level_env = _env("TOMODACHI_LOG_LEVEL")
    if level_env and level_env.lower() in LOG_LEVELS:
        parsed.log_level = level_env.lower()
    logger_env = (_env("TOMODACHI_LOGGER") or "").lower()
    logger_env = logger_env if logger_env in LOGGERS else ""
    custom_env = _env("TOMODACHI_CUSTOM_LOGGER") or None
    logger_flag: str | None = None
    custom_flag: str | None = None

    items = list(args)
    index = 0
    while index < len(items):
        arg = items[index]
        if arg in ("-c", "--config"):
            index += 1
            start = index
            # config files run until the next option or the next .py service file
            while index < len(items) and not items[index].startswith("-") and not items[index].endswith(".py"):
                parsed.config_files.append(items[index])
                index += 1
            if index == start:
                raise UsageError(f"option {arg} needs at least one config file")
            continue
        if arg == "--production":
            parsed.production = True
        elif arg == "--loop":
            value = _take_value(items, index, arg).lower()
            if value not in LOOPS:
                raise UsageError(f"invalid value for --loop: {value!r} (use auto, asyncio or uvloop)")
            parsed.loop = LOOPS[value]
            index += 1
        elif arg in ("-l", "--log", "--log-level"):
            value = _take_value(items, index, arg).lower()
            if value not in LOG_LEVELS:
                raise UsageError(f"invalid log level {value!r} (use {', '.join(LOG_LEVELS)})")
            parsed.log_level = value
            index += 1
        elif arg == "--logger":
            value = _take_value(items, index, arg).lower()
            if value not in LOGGERS:
                raise UsageError(f"invalid logger {value!r} (use {', '.join(LOGGERS)})")
            logger_flag = value
            index += 1
        elif arg == "--custom-logger":
            custom_flag = _take_value(items, index, arg).strip()
            index += 1
        elif arg in ("--opentelemetry-instrument",):
            raise UsageError("--opentelemetry-instrument is not supported by this build of tomodachi")
        elif arg.startswith("-"):
            raise UsageError(f"unknown option {arg!r}")
        elif arg not in parsed.files:
            parsed.files.append(arg)
        index += 1
    if not parsed.files:
        raise UsageError("no service file has been provided: tomodachi run <service.py ...>")
    parsed.logger, parsed.custom_logger = _choose_logger(logger_flag, custom_flag, logger_env, custom_env)
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


def dependency_versions() -> list[str]:
    from importlib import metadata  # costs tens of milliseconds: only imported when asked for versions

    lines = []
    for package in ("aioamqp", "aiobotocore", "aiohttp", "botocore", "croniter", "structlog", "protobuf", "uvloop"):
        try:
            lines.append(f"{package}/{metadata.version(package)}")
        except metadata.PackageNotFoundError:
            if package in ("aioamqp", "aiobotocore", "aiohttp", "botocore"):
                lines.append(f"{package}/(not installed)")
    return lines


def load_config(files: Sequence[str]) -> dict[str, Any]:
    from tomodachi.options import load_config_files

    return load_config_files(list(files))


def print_banner(arguments: RunArguments) -> None:
    import platform

    files = ", ".join(arguments.files)
    lines = [
        "tomodachi",
        f"  process          ⇢ [pid: {os.getpid()}] $ tomodachi run {files}",
        f"  service file{'s' if len(arguments.files) > 1 else ' '}    ⇢ {files}",
        f"  operating system ⇢ {platform.system()} {platform.release()}",
        f"  python runtime   ⇢ {platform.python_implementation()} {platform.python_version()}",
        f"  tomodachi        ⇢ {tomodachi.__version__}",
        f"  event loop       ⇢ {arguments.loop}",
        "  ⌁ [watcher] file watcher enabled - restarts services on code changes",
        "  ⌁ [notice ] stop running services with <ctrl+c>",
        "",
    ]
    print("\n".join(lines), flush=True)


def run_command(args: Sequence[str]) -> int:
    arguments = parse_run_arguments(args)
    from tomodachi.logging import configure

    if arguments.custom_logger is not None:
        _use_custom_logger(arguments.custom_logger, arguments.files)
    configure(arguments.log_level, arguments.logger)
    try:
        config = load_config(arguments.config_files) if arguments.config_files else {}
    except Exception as exc:  # missing file / invalid JSON: a usage problem
        raise UsageError(str(exc)) from exc
    if arguments.loop == "uvloop":
        try:
            import uvloop  # noqa: F401
        except ImportError as exc:
            raise UsageError("the 'uvloop' package is missing: pip install 'tomodachi[uvloop]'") from exc
    if not arguments.production:
        print_banner(arguments)
    watcher_options = dict(config.get("options", {}).get("watcher", {})) if isinstance(config, dict) else {}
    from tomodachi.runtime.launcher import Launcher, run_launcher

    launcher = Launcher(arguments.files, config=config, watch=not arguments.production, watcher_options=watcher_options)
    return run_launcher(launcher, loop=arguments.loop)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        if not args or args[0] in ("-h", "--help", "help"):
            print(USAGE)
            return 0
        if args[0] in ("-v", "-V", "--version", "version"):
            print(f"tomodachi {tomodachi.__version__}")
            return 0
        if args[0] in ("--dependency-versions", "--dependencies", "--deps"):
            print("\n".join(dependency_versions()))
            return 0
        if args[0] in ("run", "start", "go"):
            return run_command(args[1:])
        if args[0].startswith("-") and any(a in ("run", "start", "go") for a in args):
            raise UsageError("the command 'run' must be specified before any options")
        if args[0].endswith(".py"):
            raise UsageError(f"missing command: did you mean 'tomodachi run {' '.join(args)}'?")
        raise UsageError(f"unknown command {args[0]!r}")
    except UsageError as exc:
        print(f"tomodachi: error: {exc}\n\n{USAGE}", file=sys.stderr)
        return 2


def cli_entrypoint(argv: Sequence[str] | None = None) -> NoReturn:
    sys.exit(main(argv))
