"""Compat import path: ``tomodachi.watcher`` re-exports the reloader of ``tomodachi.runtime`` and offers
upstream's polling ``Watcher`` (the reloader itself uses watchfiles when installed, else the same polling scan)."""

from __future__ import annotations

import asyncio
import inspect
import os
import sys
import zlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from tomodachi.runtime.file_changes import scan_sources
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
        self.watched_files_crc: dict[str, int] = {}
        self.update_watched_files()

    def _scan(self) -> dict[str, float]:
        return {path: stat.st_mtime for path, stat in scan_sources(self.root, self.filter).items()}

    def _checksums(self, current: dict[str, float]) -> dict[str, int]:
        """Content checksums, recomputed only for files whose modification time moved."""
        sums: dict[str, int] = {}
        for path, mtime in current.items():
            if path in self.watched_files_crc and self.watched_files.get(path) == mtime:
                sums[path] = self.watched_files_crc[path]
                continue
            try:
                sums[path] = zlib.crc32(Path(path).read_bytes())
            except OSError:
                continue
        return sums

    def _relative(self, path: str) -> str:
        root = self.root[0] if self.root else ""
        return path[len(root) + 1 :] if root and path.startswith(root) else path

    def update_watched_files(self, reindex: bool = False) -> dict[str, list[str]]:
        """Rescan; ``{}`` when nothing changed, else the ``added``, ``removed`` and ``updated`` paths (relative to
        the first root). A file touched without a change of content is not reported."""
        current = self._scan()
        sums = self._checksums(current)
        previous, previous_sums = self.watched_files, self.watched_files_crc
        self.watched_files, self.watched_files_crc = current, sums
        if not previous:
            return {}
        added = [self._relative(path) for path in current if path not in previous]
        removed = [self._relative(path) for path in previous if path not in current]
        updated = [
            self._relative(path)
            for path in current
            if path in previous and current[path] != previous[path] and sums.get(path) != previous_sums.get(path)
        ]
        if not (added or removed or updated):
            return {}
        return {"added": added, "removed": removed, "updated": updated}

    async def watch(
        self, loop: asyncio.AbstractEventLoop | None = None, callback_func: Callable[..., Any] | None = None
    ) -> asyncio.Task[None]:
        """Start polling; ``callback_func()`` runs (awaited if async) after each change. Returns the Task."""

        async def poll() -> None:
            while True:
                changes = self.update_watched_files()
                if changes and callback_func is not None:
                    changed = {*changes["added"], *changes["updated"]}
                    # upstream hands the changed files to a callback that takes an argument
                    takes_files = bool(inspect.signature(callback_func).parameters)
                    result = callback_func(changed) if takes_files else callback_func()
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
