"""The reload purge protects installed packages, not every file under the interpreter prefix."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest

import tomodachi
from tomodachi.runtime.reload import purge_modules


def test_purge_forgets_project_modules_under_the_interpreter_prefix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # e.g. a Debian system Python (sys.prefix=/usr) running a project in /usr/src/app
    prefix = tmp_path / "usr"
    project = prefix / "src" / "app"
    installed = prefix / "lib" / "python3" / "dist-packages"
    monkeypatch.setattr(sys, "prefix", str(prefix))
    monkeypatch.setattr(sys, "base_prefix", str(prefix))
    helper = types.ModuleType("review_helper_module")
    helper.__file__ = str(project / "helper.py")
    library = types.ModuleType("review_library_module")
    library.__file__ = str(installed / "library.py")
    monkeypatch.setitem(sys.modules, "review_helper_module", helper)
    monkeypatch.setitem(sys.modules, "review_library_module", library)
    monkeypatch.setattr("tomodachi.runtime.reload._installed_paths", lambda: (str(installed),))
    purge_modules([str(project), str(prefix)])
    assert "review_helper_module" not in sys.modules
    assert sys.modules["review_library_module"] is library


def test_purge_forgets_modules_of_a_sibling_folder_sharing_the_tomodachi_prefix(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    package_root = Path(tomodachi.__file__).parent
    sibling = types.ModuleType("review_sibling_module")
    sibling.__file__ = str(package_root.parent / f"{package_root.name}_services" / "svc.py")
    monkeypatch.setitem(sys.modules, "review_sibling_module", sibling)
    purge_modules([str(package_root.parent / f"{package_root.name}_services")])
    assert "review_sibling_module" not in sys.modules
