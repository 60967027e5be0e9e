"""Loads example files with the same importer `tomodachi run examples/<file>.py` uses."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

from tomodachi.runtime.importer import import_service_file

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture
def load_example() -> Callable[[str], ModuleType]:
    """``load_example("sns_sqs_fifo.py")`` -> the example's module (its service classes are attributes)."""
    return lambda relative_path: import_service_file(EXAMPLES / relative_path)
