"""Development mode: watch source files (watchfiles, else polling) and restart the services in-process on a change."""

from __future__ import annotations

import asyncio
import os
import site
import sys
import sysconfig
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from tomodachi.runtime.importer import ServiceFileError, resolve_service_path

if TYPE_CHECKING:
    from tomodachi.logging import Logger
    from tomodachi.runtime.launcher import Launcher

WATCHED_FILE_ENDINGS = (".py", ".pyi", ".json", ".yml", ".html", ".phtml")
IGNORED_DIRS = (
    "__pycache__",
    ".git",
    ".svn",
    "__ignored__",
    "__temporary__",
    "__tmp__",
    ".mypy_cache",
    ".pytest_cache",
)


def _logger() -> Logger:
    from tomodachi.logging import get_logger

    return get_logger("tomodachi.watcher")


class SourceFilter:
    """Decides which changed paths restart the services: the default file endings and ignored folders plus
    those the options add."""

    def __init__(self, watched_file_endings: Iterable[str] = (), ignored_dirs: Iterable[str] = ()) -> None:
        self.endings = tuple(WATCHED_FILE_ENDINGS) + tuple(watched_file_endings)
        self.ignored = set(IGNORED_DIRS) | set(ignored_dirs)

    def __call__(self, change: object, path: str) -> bool:
        parts = Path(path).parts
        if any(part in self.ignored or (part.startswith(".") and part not in (".", "..")) for part in parts[:-1]):
            return False
        return path.endswith(self.endings)


def source_filter(launcher: Launcher, watcher_options: Mapping[str, object]) -> SourceFilter:
    """The filter from the ``watcher`` options of the ``-c`` files and of every running service's options
    (its class options with the config merged over them), validated like any option."""
    import tomodachi

    sections = [tomodachi.Options().merged({"watcher": watcher_options}).watcher]
    sections += [c.instance.options.watcher for c in launcher.containers if c.instance is not None]
    endings = [ending for section in sections for ending in section.watched_file_endings]
    ignored = [folder for section in sections for folder in section.ignored_dirs]
    return SourceFilter(dict.fromkeys(endings), ignored)


def watch_roots(files: list[str]) -> list[str]:
    roots = {str(Path.cwd())}
    for file in files:
        try:
            roots.add(str(resolve_service_path(file).parent))
        except ServiceFileError:
            pass
    return sorted(roots)


def _installed_paths() -> tuple[str, ...]:
    """Folders of the standard library and installed packages: their modules are never reloaded."""
    paths = {sysconfig.get_path(name) for name in ("stdlib", "platstdlib", "purelib", "platlib")}
    paths.update(site.getsitepackages())
    if site.ENABLE_USER_SITE:
        paths.add(site.getusersitepackages())
    return tuple(sorted(p for p in paths if p))


def _under(file: str, folders: tuple[str, ...]) -> bool:
    return any(file.startswith(folder.rstrip(os.sep) + os.sep) for folder in folders)


def purge_modules(roots: list[str]) -> None:
    """Forget user modules loaded from the watched folders so the restart imports fresh code.

    Only installed packages and tomodachi itself are kept: not everything below ``sys.prefix``, which for a
    system Python (``/usr``) would also cover a project in ``/usr/src/app``."""
    watched = tuple(str(Path(root)) for root in roots)
    protected = (*_installed_paths(), str(Path(__file__).parents[1]))
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None) or ""
        if _under(file, watched) and not _under(file, protected):
            del sys.modules[name]


def syntax_errors(files: list[str]) -> list[str]:
    errors = []
    for file in files:
        try:
            path = resolve_service_path(file)
            compile(path.read_text(encoding="utf-8"), str(path), "exec")
        except SyntaxError as exc:
            kind = "indentation error" if isinstance(exc, IndentationError) else "syntax error"
            errors.append(f"{kind} in file {exc.filename}:{exc.lineno}: {exc.msg}")
        except ServiceFileError as exc:
            errors.append(str(exc))
    return errors


async def watch_and_reload(launcher: Launcher, watcher_options: Mapping[str, object]) -> None:
    from tomodachi.runtime.file_changes import source_changes

    log = _logger()
    roots = watch_roots(launcher.files)
    watcher, mechanism = source_changes(roots, source_filter(launcher, watcher_options))
    # watchfiles sets up its file watches in its first step: run that step before logging "enabled", so a
    # change made right after the log line is not missed
    next_changes = asyncio.ensure_future(anext(watcher))
    await asyncio.sleep(0)
    log.info("file watcher enabled", roots=roots, mechanism=mechanism)
    try:
        while True:
            try:
                changes = await next_changes
            except StopAsyncIteration:
                return
            next_changes = asyncio.ensure_future(anext(watcher))
            log.info("modified files or filepaths", files=sorted(changes))
            errors = syntax_errors(launcher.files)
            if errors:
                for error in errors:
                    log.error(error)
                log.warning("restart failed due to error")
                continue
            log.info("restarting services")
            await launcher.stop_services()
            purge_modules(roots)
            try:
                await launcher.start_services()
            except Exception as exc:
                log.error("cannot restart due to errors", error=str(exc))
    finally:
        next_changes.cancel()  # stopped mid-restart: do not leave the watch pending
