"""The reloader's change source: polling finds what changed without watchfiles, and is chosen when it is absent."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from tomodachi.runtime.file_changes import PollingChanges, source_changes
from tomodachi.runtime.reload import SourceFilter

INTERVAL = 0.02
WITHIN = 5.0


async def _next(changes: PollingChanges) -> set[str]:
    return await asyncio.wait_for(anext(changes), WITHIN)


async def test_polling_reports_modified_added_and_removed_source_files(tmp_path: Path) -> None:
    kept = tmp_path / "service.py"
    kept.write_text("v = 1\n")
    changes = PollingChanges([str(tmp_path)], SourceFilter(), interval=INTERVAL)

    kept.write_text("v = 22\n")  # a different size: seen even where modification times are coarse
    assert await _next(changes) == {str(kept)}

    added = tmp_path / "pkg" / "helper.py"
    added.parent.mkdir()
    added.write_text("x = 1\n")
    assert await _next(changes) == {str(added)}

    kept.unlink()
    assert await _next(changes) == {str(kept)}


async def test_polling_ignores_other_endings_and_ignored_folders(tmp_path: Path) -> None:
    changes = PollingChanges([str(tmp_path)], SourceFilter(ignored_dirs=["node_modules"]), interval=INTERVAL)
    (tmp_path / "notes.txt").write_text("not source\n")
    for folder in ("node_modules", "__pycache__", ".git"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "module.py").write_text("x = 1\n")
    (tmp_path / "template.html").write_text("<p/>\n")  # a watched ending, written last
    assert await _next(changes) == {str(tmp_path / "template.html")}


def test_without_watchfiles_the_reloader_polls(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "watchfiles", None)  # an import of it raises ImportError
    changes, mechanism = source_changes([str(tmp_path)], SourceFilter())
    assert mechanism == "polling"
    assert isinstance(changes, PollingChanges)


def test_with_watchfiles_installed_the_reloader_uses_it(tmp_path: Path) -> None:
    pytest.importorskip("watchfiles")
    _, mechanism = source_changes([str(tmp_path)], SourceFilter())
    assert mechanism == "watchfiles"
