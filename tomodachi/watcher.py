"""Compat import path: ``tomodachi.watcher`` re-exports the reloader of ``tomodachi.runtime`` and offers
upstream's polling ``Watcher`` (the reloader itself runs on watchfiles; watchfiles is only imported there)."""

from __future__ import annotations

import asyncio
import inspect
import os
import sys
from collections.abc import Callable, Mapping
from typing import Any

from tomodachi.runtime.reload import (
    IGNORED_DIRS,
    WATCHED_FILE_ENDINGS,
    SourceFilter,
    purge_modules,
    syntax_errors,
    watch_and_reload,
    watch_roots,
)

POLL_SECONDS = 0.5  # how often Watcher.watch() looks for changes


class Watcher:
    """Upstream's file watcher: the modification times of the source files under ``root``, compared on demand
    (``update_watched_files``) or every half second (``watch``), with the same filters as the reloader."""

    def __init__(self, root: list[str] | None = None, configuration: Mapping[str, Any] | None = None) -> None:
        options = (configuration or {}).get("options", {}).get("watcher", {})
        endings, ignored = options.get("watched_file_endings") or (), options.get("ignored_dirs") or ()
        self.filter = SourceFilter(
            [endings] if isinstance(endings, str) else endings, [ignored] if isinstance(ignored, str) else ignored
        )
        if root:
            self.root = list(root)
        else:
            directory = os.path.realpath(sys.argv[0].rsplit("/", 1)[0])
            self.root = [os.path.dirname(directory) if os.path.isfile(directory) else directory]
        self.watched_files: dict[str, float] = {}
        self.update_watched_files()

    def _scan(self) -> dict[str, float]:
        found: dict[str, float] = {}
        for root in self.root:
            for folder, _dirs, files in os.walk(root):
                for name in files:
                    path = os.path.join(folder, name)
                    if self.filter(None, path):
                        try:
                            found[path] = os.stat(path).st_mtime
                        except OSError:  # removed while walking
                            continue
        return found

    def update_watched_files(self, reindex: bool = False) -> dict[str, list[str]]:
        """Rescan; ``{}`` when nothing changed, else the ``added``, ``removed`` and ``updated`` paths."""
        current = self._scan()
        previous, self.watched_files = self.watched_files, current
        if reindex or current == previous:
            return {}
        added = [path for path in current if path not in previous]
        removed = [path for path in previous if path not in current]
        updated = [path for path in current if path in previous and current[path] != previous[path]]
        return {"added": added, "removed": removed, "updated": updated}

    async def watch(
        self, loop: asyncio.AbstractEventLoop | None = None, callback_func: Callable[..., Any] | None = None
    ) -> asyncio.Task[None]:
        """Start polling; ``callback_func()`` runs (awaited if async) after each change. Returns the Task."""

        async def poll() -> None:
            while True:
                if self.update_watched_files() and callback_func is not None:
                    result = callback_func()
                    if inspect.isawaitable(result):
                        await result
                await asyncio.sleep(POLL_SECONDS)

        return (loop or asyncio.get_running_loop()).create_task(poll())


__all__ = [
    "IGNORED_DIRS",
    "WATCHED_FILE_ENDINGS",
    "SourceFilter",
    "Watcher",
    "purge_modules",
    "syntax_errors",
    "watch_and_reload",
    "watch_roots",
]
