"""Compat import path: ``tomodachi.watcher`` re-exports the file watcher / reloader of ``tomodachi.runtime``.

watchfiles itself is only imported when ``watch_and_reload`` runs.
"""

from __future__ import annotations

from tomodachi.runtime.reload import (
    IGNORED_DIRS,
    WATCHED_FILE_ENDINGS,
    SourceFilter,
    purge_modules,
    syntax_errors,
    watch_and_reload,
    watch_roots,
)

__all__ = [
    "IGNORED_DIRS",
    "WATCHED_FILE_ENDINGS",
    "SourceFilter",
    "purge_modules",
    "syntax_errors",
    "watch_and_reload",
    "watch_roots",
]
