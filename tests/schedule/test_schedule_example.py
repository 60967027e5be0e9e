"""examples/scheduler_service.py driven over a DST weekend by the tomodachi_service fixture's VirtualClock."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from tomodachi.testing.clock import VirtualClock

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "scheduler_service.py"
# Friday 29 March 2024, 13:00 in Stockholm; Sunday night the clocks spring forward
START = datetime(2024, 3, 29, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def virtual_clock() -> Iterator[VirtualClock]:
    with VirtualClock(START) as clock:
        yield clock


def load_example() -> Any:
    spec = importlib.util.spec_from_file_location("scheduler_service_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def test_scheduler_example_over_a_dst_weekend(tomodachi_service: Any, virtual_clock: VirtualClock) -> None:
    svc = await tomodachi_service(load_example().SchedulerService)
    await virtual_clock.settle()
    service = svc.instance
    assert service.cache_refreshes == ["2024-03-29T12:00:00Z"]  # immediately=True

    await virtual_clock.advance_to(datetime(2024, 4, 1, 16, 0, tzinfo=timezone.utc))  # Monday 18:00 CEST

    assert service.cache_refreshes[:3] == ["2024-03-29T12:00:00Z", "2024-03-29T12:05:00Z", "2024-03-29T12:10:00Z"]
    assert len(service.cache_refreshes) == 1 + (3 * 24 + 4) * 12
    assert service.reports == [
        "report 2024-03-30 at 02:30 CET",
        "report 2024-03-31 at 03:00 CEST",
        "report 2024-04-01 at 02:30 CEST",
    ]
    friday = [sync for sync in service.office_syncs if sync.startswith("Fri")]
    monday = [sync for sync in service.office_syncs if sync.startswith("Mon")]
    assert friday[0] == "Fri 13:15" and friday[-1] == "Fri 17:45" and len(friday) == 19
    assert monday[0] == "Mon 09:00" and monday[-1] == "Mon 17:45" and len(monday) == 36
    assert len(service.office_syncs) == len(friday) + len(monday)  # nothing at the weekend
    assert svc.errors == []
    await virtual_clock.advance(timedelta(minutes=1))
