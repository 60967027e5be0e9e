"""Source-change notifications for the reloader: watchfiles when installed (the ``watch`` extra), else polling."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable, Iterable

# (change, path) -> bool, as watchfiles calls its filters; the change is unused by ours
PathFilter = Callable[[object, str], bool]
POLL_INTERVAL = 0.5


def source_changes(roots: Iterable[str], accept: PathFilter) -> tuple[AsyncIterator[set[str]], str]:
    """An iterator of sets of changed paths under ``roots``, and the name of the mechanism behind it."""
    try:
        from watchfiles import awatch
    except ImportError:
        return PollingChanges(roots, accept), "polling"

    async def notified() -> AsyncIterator[set[str]]:
        async for changes in awatch(*roots, watch_filter=accept, debounce=200, step=50):
            yield {path for _, path in changes}

    return notified(), "watchfiles"


class PollingChanges:
    """Compares file sizes and modification times every ``interval`` seconds.

    The first picture is taken on creation, so a change made right after it is seen.
    """

    def __init__(self, roots: Iterable[str], accept: PathFilter, interval: float = POLL_INTERVAL) -> None:
        self._roots = tuple(roots)
        self._accept = accept
        self._interval = interval
        self._seen = self._picture()

    def __aiter__(self) -> PollingChanges:
        return self

    async def __anext__(self) -> set[str]:
        while True:
            await asyncio.sleep(self._interval)
            current = self._picture()
            changed = {path for path in self._seen.keys() | current.keys() if self._seen.get(path) != current.get(path)}
            self._seen = current
            if changed:
                return changed

    def _picture(self) -> dict[str, tuple[int, int]]:
        return {
            path: (stat.st_mtime_ns, stat.st_size) for path, stat in scan_sources(self._roots, self._accept).items()
        }


def scan_sources(roots: Iterable[str], accept: PathFilter) -> dict[str, os.stat_result]:
    """Every file under ``roots`` that ``accept`` takes, with its ``stat``; refused folders are not walked."""
    files: dict[str, os.stat_result] = {}
    for root in roots:
        for folder, dirs, names in os.walk(root):
            # prune folders the filter would refuse anyway, so a node_modules is never walked
            dirs[:] = [d for d in dirs if accept(None, os.path.join(folder, d, "probe.py"))]
            for name in names:
                path = os.path.join(folder, name)
                if not accept(None, path):
                    continue
                try:
                    files[path] = os.stat(path)
                except OSError:  # removed while walking: the next scan says so
                    continue
    return files
