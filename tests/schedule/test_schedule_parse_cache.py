"""Schedules are parsed once per process: the same arguments give the same Schedule, refusals still refuse."""

from __future__ import annotations

from datetime import timezone

import pytest

from tomodachi.transport.schedule.parse import InvalidScheduleError, WallClockSchedule, parse_schedule


def test_the_same_cron_arguments_give_the_same_schedule_object() -> None:
    first = parse_schedule("15 * * * *", None, "Europe/Stockholm")
    again = parse_schedule("15 * * * *", None, "Europe/Stockholm")
    assert again is first
    assert isinstance(first, WallClockSchedule) and first.expression == "15 * * * * 0"


def test_a_bool_interval_is_refused_after_the_equal_int_was_parsed() -> None:
    parse_schedule(1, None, timezone.utc)
    with pytest.raises(InvalidScheduleError):
        parse_schedule(True, None, timezone.utc)


def test_an_invalid_expression_is_refused_every_time() -> None:
    for _ in range(2):
        with pytest.raises(InvalidScheduleError):
            parse_schedule("61 * * * *", None, timezone.utc)


def test_the_local_zone_is_read_at_each_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "America/New_York")
    new_york = parse_schedule("0 9 * * *", None, None)
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    tokyo = parse_schedule("0 9 * * *", None, None)
    assert isinstance(new_york, WallClockSchedule) and isinstance(tokyo, WallClockSchedule)
    assert str(new_york.tz) == "America/New_York" and str(tokyo.tz) == "Asia/Tokyo"


def test_an_unhashable_argument_is_refused_without_the_cache() -> None:
    with pytest.raises(InvalidScheduleError):
        parse_schedule(["* * * * *"], None, timezone.utc)  # type: ignore[arg-type]
