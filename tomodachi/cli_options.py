"""The command line's options as one table that drives the parser, the help text and the generated reference (so a
flag, its variable and its default cannot drift apart), with the scanner and value readers that use it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from tomodachi.cli_errors import HelpRequested, UsageError

LOOP_CHOICES = ("auto", "asyncio", "uvloop")
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")
LOGGERS = ("console", "json", "python", "disabled", "custom")
BROKER_KINDS = ("memory", "real")
BUSES = ("amqp", "aws_sns_sqs")
TOPOLOGY_FORMATS = ("text", "mermaid", "json")
LOOPS = {
    alias: loop
    for loop, aliases in {"auto": ("default",), "asyncio": ("aio", "async"), "uvloop": ("libuv", "uv")}.items()
    for alias in (loop, *aliases)
}
TRUE_VALUES = ("1", "true", "yes", "on", "y")
FALSE_VALUES = ("", "0", "false", "no", "off", "n", "none")
BUS_ALIASES = {"amqp": "amqp", "rabbitmq": "amqp"} | dict.fromkeys(
    ("aws_sns_sqs", "sns_sqs", "aws", "sns", "sqs"), "aws_sns_sqs"
)
BROKERS_HINT = "use memory or real, or BUS=memory|real with BUS amqp or aws_sns_sqs"
INSPECT_HINT = "use [HOST:]PORT with PORT 0..65535"
DEFAULT_INSPECT_HOST = "127.0.0.1"


@dataclass(frozen=True)
class CliOption:
    """One option of a command. ``default`` is parsed like a given value, so the help shows what is used."""

    flags: tuple[str, ...]
    dest: str
    help: str
    env: str | None = None
    config_key: str | None = None  # key in a -c config file's top-level "run" object
    default: str | None = None
    choices: tuple[str, ...] | None = None
    metavar: str | None = None
    takes_value: bool = True
    many_values: bool = False  # values run until the next option or the next .py file (upstream's -c)
    repeatable: bool = False  # every use adds to the value instead of replacing it
    hidden_flags: tuple[str, ...] = ()  # accepted spellings that the help does not advertise
    refusal: str | None = None  # upstream has this option; this build answers with this usage error

    @property
    def all_flags(self) -> tuple[str, ...]:
        return (*self.flags, *self.hidden_flags)


@dataclass(frozen=True)
class CliCommand:
    name: str
    aliases: tuple[str, ...]
    usage: str
    summary: str
    options: tuple[CliOption, ...]


HELP_OPTION = CliOption(("-h", "--help"), "help", "Show this help and exit", takes_value=False)
CONFIG_OPTION = CliOption(
    ("-c", "--config"),
    "config_files",
    'Read configuration from JSON files, deep-merged in order; a top-level "run" object is the command\'s own '
    "settings and is not passed to the services",
    metavar="FILE [FILE ...]",
    many_values=True,
)

GLOBAL_OPTIONS: tuple[CliOption, ...] = (
    HELP_OPTION,
    CliOption(
        ("-v", "--version"), "version", "Print the tomodachi version and exit", takes_value=False, hidden_flags=("-V",)
    ),
    CliOption(
        ("--dependency-versions",),
        "dependency_versions",
        "Print the versions of tomodachi's dependencies and exit",
        takes_value=False,
        hidden_flags=("--dependencies", "--deps"),
    ),
    CliOption(
        ("--opentelemetry-instrument",),
        "opentelemetry_instrument",
        "Instrument the services with OpenTelemetry, written before the run command as upstream does "
        "(tomodachi --opentelemetry-instrument run <service.py ...>); see tomodachi run --help",
        takes_value=False,
    ),
)

RUN_OPTIONS: tuple[CliOption, ...] = (
    CONFIG_OPTION,
    CliOption(
        ("--production",),
        "production",
        "Disable the file watcher (restarts on code changes) and the start-up banner; TOMODACHI_PRODUCTION "
        "takes 1/0, true/false, yes/no or on/off",
        env="TOMODACHI_PRODUCTION",
        default="off",
        takes_value=False,
    ),
    CliOption(
        ("--loop",), "loop", "Event loop implementation", env="TOMODACHI_LOOP", default="auto", choices=LOOP_CHOICES
    ),
    CliOption(
        ("-l", "--log", "--log-level"),
        "log_level",
        "Log level",
        env="TOMODACHI_LOG_LEVEL",
        default="info",
        choices=LOG_LEVELS,
    ),
    CliOption(("--logger",), "logger", "Log formatter", env="TOMODACHI_LOGGER", default="console", choices=LOGGERS),
    CliOption(
        ("--custom-logger",),
        "custom_logger",
        "Forward logs to your logger: the logging module, a class, or an object with new(), bind() or "
        "get_logger(); implies --logger custom",
        env="TOMODACHI_CUSTOM_LOGGER",
        metavar="MODULE[.ATTR]",
    ),
    CliOption(
        ("--brokers",),
        "brokers",
        "Message brokers the services use: real, memory (both buses in memory), or BUS=memory|real[,...] with BUS "
        "amqp (alias rabbitmq) or aws_sns_sqs (aliases sns_sqs, aws, sns, sqs); a bus not named is real; "
        "repeatable, later entries win per bus",
        env="TOMODACHI_BROKERS",
        config_key="brokers",
        default="real",
        metavar="SPEC",
        repeatable=True,
    ),
    CliOption(
        ("--inspect",),
        "inspect",
        "Serve an HTTP page showing the in-memory buses on HOST:PORT (host 127.0.0.1 unless given); needs "
        "--brokers with at least one bus in memory",
        env="TOMODACHI_INSPECT",
        config_key="inspect",
        metavar="[HOST:]PORT",
    ),
    CliOption(
        ("--topology",),
        "topology",
        "Write the observed message flows as a Mermaid diagram to FILE when the run stops",
        env="TOMODACHI_TOPOLOGY",
        config_key="topology",
        metavar="FILE",
    ),
    CliOption(
        ("--opentelemetry-instrument",),
        "opentelemetry_instrument",
        "Instrument the services with OpenTelemetry as the opentelemetry-instrument command would (OTEL_* "
        "variables, distros, configurators, installed instrumentors); needs the opentelemetry extra; "
        "TOMODACHI_OPENTELEMETRY_INSTRUMENT takes 1/0, true/false, yes/no or on/off",
        env="TOMODACHI_OPENTELEMETRY_INSTRUMENT",
        default="off",
        takes_value=False,
    ),
    HELP_OPTION,
)

TOPOLOGY_OPTIONS: tuple[CliOption, ...] = (
    CliOption(("--format",), "format", "Output format", default="text", choices=TOPOLOGY_FORMATS),
    CliOption(("-o", "--output"), "output", "Write to FILE instead of standard output", metavar="FILE"),
    CONFIG_OPTION,
    HELP_OPTION,
)

RUN_COMMAND = CliCommand(
    "run",
    ("start", "go"),
    "tomodachi run <service.py ...> [-c <config.json ...>] [--production] [options]",
    "Start the services defined in the given .py files; without --production a file watcher restarts them "
    "when code changes",
    RUN_OPTIONS,
)
TOPOLOGY_COMMAND = CliCommand(
    "topology",
    (),
    "tomodachi topology <service.py ...> [--format text|mermaid|json] [-o FILE] [-c <config.json ...>]",
    "Print how the services are wired (HTTP routes, topics and queues, schedules) without starting them",
    TOPOLOGY_OPTIONS,
)
COMMANDS: tuple[CliCommand, ...] = (RUN_COMMAND, TOPOLOGY_COMMAND)

WIDTH = 110
COLUMN = 32


def option_label(option: CliOption) -> str:
    """The left column of an option's help line: ``--loop {auto,asyncio,uvloop}``."""
    label = ", ".join(option.flags)
    if option.choices:
        return f"{label} {{{','.join(option.choices)}}}"
    return f"{label} {option.metavar}" if option.metavar else label


def option_notes(option: CliOption) -> str:
    """Its environment variable, config key and default: ``(env TOMODACHI_LOOP, default: auto)``."""
    notes = []
    if option.env:
        notes.append(f"env {option.env}")
    if option.config_key:
        notes.append(f"config run.{option.config_key}")
    if option.default is not None:
        notes.append(f"default: {option.default}")
    return f"({', '.join(notes)})" if notes else ""


def option_description(option: CliOption) -> str:
    """The right column: what it does, then its notes."""
    return f"{option.help} {option_notes(option)}".rstrip()


def _two_columns(left: str, right: str, notes: str = "") -> list[str]:
    import textwrap  # only when help is printed: keeps the command line's start-up cheap

    indent = " " * (COLUMN + 2)
    wrapped = textwrap.wrap(right, WIDTH - len(indent), break_on_hyphens=False) or [""]
    # the notes stay whole on one line, so a variable name is never split from its default
    if notes and len(wrapped[-1]) + 1 + len(notes) <= WIDTH - len(indent):
        wrapped[-1] += f" {notes}"
    elif notes:
        wrapped.append(notes)
    if len(left) > COLUMN - 2:
        return [f"  {left}", *(indent + line for line in wrapped)]
    return [f"  {left.ljust(COLUMN)}{wrapped[0]}", *(indent + line for line in wrapped[1:])]


def options_help(options: tuple[CliOption, ...]) -> list[str]:
    lines: list[str] = []
    for option in options:
        lines.extend(_two_columns(option_label(option), option.help, option_notes(option)))
    return lines


def command_help(command: CliCommand) -> str:
    import textwrap

    lines = [f"Usage: {command.usage}"]
    if command.aliases:
        lines.append(f"       (also: {', '.join(f'tomodachi {alias}' for alias in command.aliases)})")
    lines += ["", *textwrap.wrap(command.summary + ".", WIDTH), "", "Options:", *options_help(command.options)]
    keys = [option.config_key for option in command.options if option.config_key]
    if keys:
        lines += [
            "",
            *textwrap.wrap(
                f'A -c config file may hold a top-level "run" object with the keys {", ".join(keys)} (same values as '
                "the options; inspect may also be a port number). Precedence: option, then environment variable, "
                'then the config file\'s "run" object, then the default.',
                WIDTH,
            ),
            '  e.g. {"run": {"brokers": "amqp=memory", "inspect": 8080, "topology": "flows.mmd"}}',
        ]
    return "\n".join(lines)


def top_level_help() -> str:
    lines = ["Usage: tomodachi <command> [options] [arguments]", "", "Commands:"]
    for command in COMMANDS:
        name = command.name + (f" (aliases: {', '.join(command.aliases)})" if command.aliases else "")
        lines.extend(_two_columns(name, command.summary))
        lines.append(f"      $ {command.usage}")
    lines.extend(_two_columns("help [<command>]", "Show this help, or a command's"))
    lines += [
        "",
        "Options:",
        *options_help(GLOBAL_OPTIONS),
        "",
        "Run 'tomodachi <command> --help' for a command's options.",
    ]
    return "\n".join(lines)


def find_command(name: str) -> CliCommand | None:
    return next((command for command in COMMANDS if name in (command.name, *command.aliases)), None)


# -- scanning arguments against a table ---------------------------------------------------------------------------


@dataclass
class Scan:
    positional: list[str] = field(default_factory=list)
    given: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # dest -> (flag as typed, value)

    def values(self, option: CliOption) -> list[tuple[str, str]]:
        return self.given.get(option.dest, [])


def option_for(options: Sequence[CliOption], dest: str) -> CliOption:
    return next(option for option in options if option.dest == dest)


def closest(word: str, candidates: Sequence[str]) -> str | None:
    import difflib  # only on a typo: keeps the command line's start-up cheap

    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return close[0] if close else None


def suggest(word: str, candidates: Sequence[str]) -> str:
    meant = closest(word, candidates)
    return f": did you mean {meant!r}?" if meant else ""


def unknown_option(flag: str, options: Sequence[CliOption], command: str) -> UsageError:
    hint = suggest(flag, [name for option in options for name in option.flags])
    return UsageError(f"unknown option {flag!r}{hint}", command=command, show_help=not hint)


def scan_arguments(args: Sequence[str], options: Sequence[CliOption], command: str) -> Scan:
    """Split ``args`` into positional arguments and option values; options may come anywhere, before or after
    the files. -h/--help anywhere wins over everything else, as it does in most command lines."""
    if any(arg in ("-h", "--help") for arg in args):
        raise HelpRequested(command)
    by_flag = {flag: option for option in options for flag in option.all_flags}
    scan = Scan()
    items = list(args)
    index = 0
    while index < len(items):
        arg = items[index]
        index += 1
        if not arg.startswith("-"):
            if arg not in scan.positional:
                scan.positional.append(arg)
            continue
        flag, equals, inline = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        option = by_flag.get(flag)
        if option is None:
            raise unknown_option(flag, options, command)
        if option.refusal:
            raise UsageError(option.refusal, command=command)
        values = scan.given.setdefault(option.dest, [])
        if not option.takes_value:
            if equals:
                raise UsageError(f"option {flag} takes no value", command=command)
            values.append((flag, "on"))
        elif option.many_values:
            found = [inline] if equals else []
            while index < len(items) and not items[index].startswith("-") and not items[index].endswith(".py"):
                found.append(items[index])
                index += 1
            if not found or not all(found):
                raise UsageError("Missing config file on command line", command=command, verbatim=True)
            values.extend((flag, value) for value in found)
        elif equals:
            values.append((flag, inline))
        else:
            if index >= len(items) or items[index].startswith("-"):
                raise UsageError(f"Missing value for {flag} option", command=command, verbatim=True)
            values.append((flag, items[index]))
            index += 1
    return scan


# -- reading values: from a flag, a variable or a config key, named in ``source`` for the error message ----------


def _one_of(choices: Sequence[str]) -> str:
    return ", ".join(choices[:-1]) + f" or {choices[-1]}" if len(choices) > 1 else choices[0]


def invalid(source: str, value: object, hint: str, what: str = "value") -> UsageError:
    return UsageError(f"invalid {what} for {source}: {value!r} ({hint})")


def _choice(value: str, source: str, choices: Sequence[str], what: str = "value") -> str:
    if value.strip().lower() not in choices:
        raise invalid(source, value, f"use {_one_of(choices)}", what)
    return value.strip().lower()


def _quoted(choices: Sequence[str]) -> str:
    return _one_of([f"'{choice}'" for choice in choices])


# Upstream's words for a bad value of the flags it had: scripts and CI logs match on them, so they are kept
# exactly (variables and config keys, which upstream worded differently or did not have, keep ours).
UPSTREAM_LOGGER_CHOICES = ("json", "console", "python", "disabled")  # custom comes with --custom-logger


def read_loop(value: str, source: str) -> str:
    if value.strip().lower() not in LOOPS:
        if source.startswith("-"):
            raise UsageError(f"Invalid value for {source} option: '{value}' not recognized", verbatim=True)
        raise invalid(source, value, f"use {_one_of(LOOP_CHOICES)}")
    return LOOPS[value.strip().lower()]


def read_log_level(value: str, source: str) -> str:
    if source.startswith("-") and value.strip().lower() not in LOG_LEVELS:
        raise UsageError(f"Invalid log level: '{value}' (expected {_quoted(LOG_LEVELS)})", verbatim=True)
    return _choice(value, source, LOG_LEVELS, "log level")


def read_logger(value: str, source: str) -> str:
    if source.startswith("-") and value.strip().lower() not in LOGGERS:
        message = f"Invalid value for {source} option: '{value}' (expected {_quoted(UPSTREAM_LOGGER_CHOICES)})"
        raise UsageError(message, verbatim=True)
    return _choice(value, source, LOGGERS, "logger")


def read_format(value: str, source: str) -> str:
    return _choice(value, source, TOPOLOGY_FORMATS)


def read_switch(value: str, source: str) -> bool:
    if value.strip().lower() not in TRUE_VALUES + FALSE_VALUES:
        raise invalid(source, value, "use 1/0, true/false, yes/no or on/off")
    return value.strip().lower() in TRUE_VALUES


def read_brokers(spec: str, source: str) -> dict[str, str]:
    """``real``, ``memory`` or ``BUS=KIND`` entries separated by commas; later entries win per bus, so repeated
    flags can be joined with commas."""
    result = dict.fromkeys(BUSES, "real")
    for part in spec.split(","):
        entry = part.strip().lower()
        bus_name, equals, kind = (item.strip() for item in entry.partition("="))
        bus = BUS_ALIASES.get(bus_name.replace("-", "_"))
        if not equals and entry in BROKER_KINDS:
            result = dict.fromkeys(BUSES, entry)
        elif equals and bus is not None and kind in BROKER_KINDS:
            result[bus] = kind
        else:
            raise invalid(source, part.strip(), BROKERS_HINT)
    return result


def read_brokers_config(raw: object, source: str) -> dict[str, str]:
    """A config file may give one spec, a list of specs, or an object of bus to kind."""
    specs: list[object]
    if isinstance(raw, dict):
        specs = [f"{bus}={kind}" for bus, kind in raw.items()]
    else:
        specs = list(raw) if isinstance(raw, list) else [raw]
    texts = [spec for spec in specs if isinstance(spec, str)]
    if not texts or len(texts) != len(specs):
        raise invalid(source, raw, BROKERS_HINT)
    return read_brokers(",".join(texts), source)


def read_inspect(value: str | int, source: str) -> tuple[str, int]:
    if isinstance(value, int):
        host, port = DEFAULT_INSPECT_HOST, str(value)
    else:
        host, _, port = (item.strip() for item in value.strip().rpartition(":"))
        host = host.removeprefix("[").removesuffix("]") or DEFAULT_INSPECT_HOST
    if not (port.isascii() and port.isdigit()) or int(port) > 65535:
        raise invalid(source, value, INSPECT_HINT)
    return host, int(port)


def read_inspect_config(raw: object, source: str) -> tuple[str, int]:
    """A config file may give the port as a number."""
    if isinstance(raw, bool) or not isinstance(raw, (str, int)):
        raise invalid(source, raw, INSPECT_HINT)
    return read_inspect(raw, source)


def read_path(value: str, source: str) -> str:
    if not value.strip():
        raise invalid(source, value, "use a file path")
    return value


def read_output_path(value: str, source: str) -> str:
    """A file to write later (at stop): checked now, so hours of observations are not lost to a typo."""
    from pathlib import Path

    path = Path(read_path(value, source))
    if path.is_dir():
        raise invalid(source, value, "it is a directory: name a file in it")
    if not path.parent.is_dir():
        raise invalid(source, value, f"the folder {str(path.parent)!r} does not exist")
    return value
