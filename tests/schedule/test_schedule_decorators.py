"""Scheduler decorators: specs they attach, shortcut forms, and errors at decoration time."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

import tomodachi
from tomodachi.handlers import HandlerSpec, specs_of
from tomodachi.transport.schedule.api import InvalidScheduleError


def args_of(func: Any) -> dict[str, Any]:
    (spec,) = specs_of(func)
    assert spec.transport == "schedule" and spec.kind == "schedule"
    return dict(spec.args)


def test_schedule_attaches_spec_and_returns_the_function() -> None:
    async def job(self: Any) -> str:
        return "ran"

    decorated = tomodachi.schedule(interval="every 5 seconds", timezone="Europe/Stockholm", immediately=True)(job)
    assert decorated is job
    assert args_of(job) == {
        "interval": "every 5 seconds",
        "timestamp": None,
        "timezone": "Europe/Stockholm",
        "immediately": True,
    }
    assert specs_of(job) == (HandlerSpec("schedule", "schedule", args_of(job)),)


def test_scheduler_alias_and_timestamp() -> None:
    assert tomodachi.scheduler is tomodachi.schedule

    @tomodachi.scheduler(timestamp="22:15:30")
    async def job(self: Any) -> None: ...

    assert args_of(job)["timestamp"] == "22:15:30"


@pytest.mark.parametrize(
    "name, interval",
    [
        ("heartbeat", 1),
        ("every_second", 1),
        ("minutely", "minutely"),
        ("hourly", "hourly"),
        ("daily", "daily"),
        ("monthly", "monthly"),
    ],
)
def test_shortcuts_bare_and_called(name: str, interval: object) -> None:
    shortcut = getattr(tomodachi, name)

    async def bare(self: Any) -> None: ...

    async def called(self: Any) -> None: ...

    async def with_options(self: Any) -> None: ...

    assert shortcut(bare) is bare
    assert shortcut()(called) is called
    shortcut(immediately=True, timezone="+02:00")(with_options)
    assert (
        args_of(bare)
        == args_of(called)
        == {
            "interval": interval,
            "timestamp": None,
            "timezone": None,
            "immediately": False,
        }
    )
    assert args_of(with_options)["immediately"] is True
    assert args_of(with_options)["timezone"] == "+02:00"


def test_invalid_interval_names_the_function() -> None:
    with pytest.raises(InvalidScheduleError, match=r"MyService\.refresh.*Invalid interval 'fortnightly-ish'"):

        class MyService(tomodachi.Service):
            @tomodachi.schedule(interval="fortnightly-ish")
            async def refresh(self) -> None: ...


def test_invalid_time_zone_names_the_function() -> None:
    async def nightly_report(self: Any) -> None: ...

    with pytest.raises(InvalidScheduleError, match=r"nightly_report.*Invalid timezone 'Europe/Atlantis'"):
        tomodachi.daily(timezone="Europe/Atlantis")(nightly_report)
    assert specs_of(nightly_report) == ()


def test_schedule_applied_bare_is_a_clear_error() -> None:
    async def job(self: Any) -> None: ...

    with pytest.raises(TypeError, match="needs an interval or a timestamp"):
        tomodachi.schedule(job)  # type: ignore[arg-type]


def test_decorator_module_is_light_to_import() -> None:
    code = (
        "import sys, tomodachi.transport.schedule.api; "
        "print(sorted(m for m in ('aiohttp', 'croniter', 'aiobotocore', 'aioamqp') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
