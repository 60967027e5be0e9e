"""How the command line reports a mistake (exit code 2): upstream's exact wording where upstream reported the same
mistake, since scripts and log searches match on it, and our own wording, with a did-you-mean, where it did not."""

from __future__ import annotations

from collections.abc import Callable

TOP_LEVEL_HEADLINE = "invalid command or combination of command options"
RUN_BEFORE_ARGUMENTS = "the command 'run' must be specified before any service files or options"


class UsageError(Exception):
    """Bad command line: printed to stderr, exit code 2.

    ``command`` picks the help that goes with it (``""``: the top level, whose errors come in upstream's framed
    form) and ``show_help`` prints that help in full instead of a pointer to it. ``verbatim`` prints the message
    alone, as upstream printed it; ``retry`` is the command line the user probably meant."""

    def __init__(
        self,
        message: str,
        *,
        command: str | None = None,
        show_help: bool = False,
        verbatim: bool = False,
        retry: str | None = None,
    ) -> None:
        super().__init__(message)
        self.command = command
        self.show_help = show_help
        self.verbatim = verbatim
        self.retry = retry


class HelpRequested(Exception):
    """-h/--help among a command's arguments: its help is printed and the exit code is 0."""

    def __init__(self, command: str) -> None:
        super().__init__(command)
        self.command = command


def top_level_error(detail: str, retry: str | None = None) -> UsageError:
    """A mistake before any command was recognised."""
    return UsageError(detail, command="", retry=retry)


def _framed(detail: str, retry: str | None) -> str:
    """Two ``error:`` lines, then what was probably meant, then where the help is."""
    ending = "" if detail.endswith(("?", ".")) else "."
    lines = [f"error: {TOP_LEVEL_HEADLINE}.", f"error: {detail}{ending}", "", "---", ""]
    if retry:
        lines += ["maybe you intended to run something like this?", f"$ {retry}", ""]
    lines += ["use the '--help' option for cli usage help.", "$ tomodachi --help"]
    return "\n".join(lines)


def render_usage_error(error: UsageError, command: str, help_text: Callable[[str], str]) -> str:
    """The text printed to stderr for ``error`` raised while running ``command`` (``""`` at the top level)."""
    if error.verbatim:
        return str(error)
    if command == "":
        return _framed(str(error), error.retry)
    text = f"tomodachi: error: {error}"
    if error.show_help:
        return f"{text}\n\n{help_text(command)}"
    return f"{text}\nRun 'tomodachi {command + ' ' if command else ''}--help' for usage."
