"""What a service file imports from its own folder does not leak into the next test."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from tomodachi.testing.harness import ServiceHarness

SERVICE = """
import tomodachi
from review_helper import VALUE


class Svc(tomodachi.Service):
    name = "review-imports"

    async def _start_service(self) -> None:
        self.value = VALUE
"""


def _write(folder: Path, value: str) -> Path:
    folder.mkdir()
    (folder / "review_helper.py").write_text(f"VALUE = {value!r}\n")
    (folder / "review_service.py").write_text(SERVICE)
    return folder / "review_service.py"


async def test_a_helper_module_of_an_earlier_test_is_not_reused(tmp_path: Path, virtual_clock: Any) -> None:
    path_before = list(sys.path)
    for value in ("first", "second"):
        harness = ServiceHarness(virtual_clock)
        try:
            svc = await harness.start(_write(tmp_path / value, value))
            assert svc.instance.value == value
        finally:
            await harness.stop_all()
        assert "review_helper" not in sys.modules
        assert "review_service" not in sys.modules
        assert sys.path == path_before
