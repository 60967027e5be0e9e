"""The option tables of docs/cli.md, generated from the table the parser and the help use."""

from __future__ import annotations

from tomodachi.cli_options import CliOption, option_label


def _cell(text: str | None) -> str:
    return f"`{text}`" if text else ""


def _help(option: CliOption) -> str:
    return option.help.replace("|", "\\|")


def options_table(options: tuple[CliOption, ...]) -> str:
    """One row per option: flags (with choices or metavar), environment variable, config key, default, help."""
    rows = ["| option | environment variable | `-c` config | default | what it does |", "|---|---|---|---|---|"]
    for option in options:
        label = option_label(option).replace("|", "\\|")
        config = f"run.{option.config_key}" if option.config_key else None
        rows.append(
            f"| `{label}` | {_cell(option.env)} | {_cell(config)} | {_cell(option.default)} | {_help(option)} |"
        )
    return "\n".join(rows) + "\n"
