"""The package version: ``tomodachi.__version__`` and upstream's ``tomodachi.__version__`` module agree with the
source and the project metadata, and a bare ``import tomodachi`` reads no extra file and imports no ``typing``."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import tomodachi

REPO = Path(__file__).resolve().parents[2]


def _source_values() -> dict[str, object]:
    tree = ast.parse((REPO / "tomodachi" / "__version__.py").read_text())
    values: dict[str, object] = {}
    for node in tree.body:
        if isinstance(node, ast.AnnAssign | ast.Assign):
            target = node.target if isinstance(node, ast.AnnAssign) else node.targets[0]
            assert isinstance(target, ast.Name) and node.value is not None
            values[target.id] = ast.literal_eval(node.value)
    return values


def test_the_version_module_matches_its_source_file_and_the_project_metadata() -> None:
    from tomodachi.__version__ import __build_time__, __version__, __version_info__

    source = _source_values()
    assert (__version__, __version_info__, __build_time__) == (
        source["__version__"],
        source["__version_info__"],
        source["__build_time__"],
    )
    assert tomodachi.__version__ == __version__
    project_version = re.search(r'^version = "([^"]+)"$', (REPO / "pyproject.toml").read_text(), re.MULTILINE)
    assert project_version is not None and project_version.group(1) == __version__
    assert ".".join(str(part) for part in __version_info__) == __version__


def test_a_bare_import_loads_neither_typing_nor_the_version_file() -> None:
    # -S: no site-packages start-up code that could import typing first; the package found through PYTHONPATH
    probe = (
        "import sys; import tomodachi; from tomodachi.__version__ import __version__;"
        "print('typing' in sys.modules, getattr(sys.modules['tomodachi.__version__'], '__file__', None), __version__)"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, "-S", "-c", probe], capture_output=True, text=True, timeout=60, check=True, env=env
    )
    assert result.stdout.split() == ["False", "None", tomodachi.__version__]
