"""The start-up banner as upstream's ``render_banner`` printed it: process, files, platform and event loop."""

from __future__ import annotations

import asyncio
import os
import platform
import sys
from collections.abc import Iterable

LABEL_WIDTH = 23


def event_loop_description(loop: asyncio.AbstractEventLoop) -> str:
    """``asyncio``, ``uvloop (version: X)`` or the loop class's dotted name."""
    kind = type(loop)
    if kind.__module__.startswith("uvloop"):
        import uvloop

        return f"uvloop (version: {getattr(uvloop, '__version__', '')})"
    if kind.__module__.startswith("asyncio"):
        return "asyncio"
    return f"{kind.__module__}.{kind.__name__}"


def _line(label: str, value: str) -> str:
    return f"{label.ljust(LABEL_WIDTH)}⇢ {value}"


def render_banner(
    service_files: Iterable[str],
    loop: asyncio.AbstractEventLoop | None = None,
    process_id: int | None = None,
    event_loop_alias: str | None = None,
    event_loop_version: str | None = None,
    cwd: str | None = None,
    watcher_enabled: bool | None = None,
    use_execution_context: bool = True,
) -> None:
    """Print the banner to stdout. Values not given come from the execution context (unless
    ``use_execution_context`` is false) or from the running process."""
    import tomodachi
    from tomodachi.runtime.context import get_execution_context

    context = get_execution_context() if use_execution_context else {}
    files = list(service_files)
    process_id = process_id or context.get("process_id") or os.getpid()
    cwd = cwd or context.get("cwd") or os.getcwd()
    if event_loop_alias is None:
        event_loop_alias = context.get("event_loop")
    if event_loop_alias:
        loop_text = f"{event_loop_alias} (version: {event_loop_version})" if event_loop_version else event_loop_alias
    else:
        if loop is not None:
            loop_text = event_loop_description(loop)
        else:
            try:
                loop_text = event_loop_description(asyncio.get_running_loop())
            except RuntimeError:  # not started yet: describe the loop this process would make
                new_loop = asyncio.new_event_loop()
                loop_text = event_loop_description(new_loop)
                new_loop.close()
    if watcher_enabled is None:
        watcher_enabled = bool(context.get("watcher_enabled", False))
    command = " ".join([os.path.basename(sys.argv[0]), *sys.argv[1:]])
    lines = [
        "",
        "tomodachi",
        "",
        _line("process", f"[pid: {process_id}] $ {command}"),
        _line("service file" + ("s" if len(files) > 1 else ""), ", ".join(files) or "-"),
        _line("current working dir", cwd),
        _line("operating system", f"{platform.system()} {platform.release()}"),
        _line("python runtime", f"{platform.python_implementation()} {platform.python_version()}"),
        _line("tomodachi version", str(tomodachi.__version__)),
        _line("event loop", loop_text),
        "",
    ]
    if watcher_enabled:
        lines.append("⌁ [watcher] file watcher enabled - restarts services on code changes")
    lines.append("⌁ [notice ] stop running services with <ctrl+c>")
    print("\n".join(lines), flush=True)
