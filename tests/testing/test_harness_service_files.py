"""Starting services from a file: one class by path, several classes only when asked for explicitly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tomodachi.testing.harness import ServiceHarness

TWO_SERVICES = """
import tomodachi


class First(tomodachi.Service):
    name = "first"

    async def _start_service(self):
        pass


class Second(tomodachi.Service):
    name = "second"

    async def _start_service(self):
        pass
"""


async def test_a_file_with_several_services_is_not_silently_cut_to_the_first(
    tomodachi_service: Any, tmp_path: Path
) -> None:
    path = tmp_path / "two_services.py"
    path.write_text(TWO_SERVICES)
    with pytest.raises(ValueError, match=r"defines 2 service classes \(First, Second\).*start_file"):
        await tomodachi_service(path)


async def test_start_file_starts_every_class(tomodachi_harness: ServiceHarness, tmp_path: Path) -> None:
    path = tmp_path / "both_services.py"
    path.write_text(TWO_SERVICES)
    handles = await tomodachi_harness.start_file(path)
    assert [handle.name for handle in handles] == ["first", "second"]
