"""Every interval / timestamp / timezone form of the scheduler decorators and what it means."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from itertools import islice
from zoneinfo import ZoneInfo

import pytest

from tomodachi.transport.schedule.fire_times import iter_fire_times
from tomodachi.transport.schedule.parse import (
    IntervalSchedule,
    InvalidScheduleError,
    OnceSchedule,
    WallClockSchedule,
    local_timezone,
    next_fire_time,
    parse_schedule,
    parse_timezone,
)

UTC = timezone.utc
# a Wednesday, 10:20:30 UTC
AFTER = datetime(2024, 5, 15, 10, 20, 30, tzinfo=UTC)


def fires(interval: object = None, *, timestamp: str | None = None, tz: str = "UTC", n: int = 3) -> list[datetime]:
    schedule = parse_schedule(interval, timestamp, tz)  # type: ignore[arg-type]
    return list(islice(iter_fire_times(schedule, AFTER), n))


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


@pytest.mark.parametrize(
    "interval, seconds",
    [
        (5, 5),
        (90, 90),
        (0.5, 0.5),
        ("5s", 5),
        ("5 s", 5),
        ("5 seconds", 5),
        ("30seconds", 30),
        ("1s", 1),
        ("every second", 1),
        ("second", 1),
        ("secondly", 1),
        ("once per second", 1),
        ("1 second", 1),
        # beyond upstream: worded intervals
        ("every 5 seconds", 5),
        ("5 minutes", 300),
        ("every 5 minutes", 300),
        ("2m", 120),
        ("2 hours", 7200),
        ("every 2 hours", 7200),
        ("3h", 10800),
        ("every 2 days", 172800),
        ("2 weeks", 1209600),
        ("  Every 10   Seconds ", 10),
    ],
)
def test_interval_forms(interval: object, seconds: float) -> None:
    schedule = parse_schedule(interval)  # type: ignore[arg-type]
    assert schedule == IntervalSchedule(seconds)


@pytest.mark.parametrize(
    "interval, expected",
    [
        ("minutely", [at(2024, 5, 15, 10, 21), at(2024, 5, 15, 10, 22), at(2024, 5, 15, 10, 23)]),
        ("1m", [at(2024, 5, 15, 10, 21), at(2024, 5, 15, 10, 22), at(2024, 5, 15, 10, 23)]),
        ("every minute", [at(2024, 5, 15, 10, 21), at(2024, 5, 15, 10, 22), at(2024, 5, 15, 10, 23)]),
        ("1 minute", [at(2024, 5, 15, 10, 21), at(2024, 5, 15, 10, 22), at(2024, 5, 15, 10, 23)]),
        ("minute", [at(2024, 5, 15, 10, 21), at(2024, 5, 15, 10, 22), at(2024, 5, 15, 10, 23)]),
        ("hourly", [at(2024, 5, 15, 11), at(2024, 5, 15, 12), at(2024, 5, 15, 13)]),
        ("1h", [at(2024, 5, 15, 11), at(2024, 5, 15, 12), at(2024, 5, 15, 13)]),
        ("once per hour", [at(2024, 5, 15, 11), at(2024, 5, 15, 12), at(2024, 5, 15, 13)]),
        ("daily", [at(2024, 5, 16), at(2024, 5, 17), at(2024, 5, 18)]),
        ("nightly", [at(2024, 5, 16), at(2024, 5, 17), at(2024, 5, 18)]),
        ("every day", [at(2024, 5, 16), at(2024, 5, 17), at(2024, 5, 18)]),
        ("1 day", [at(2024, 5, 16), at(2024, 5, 17), at(2024, 5, 18)]),
        ("monthly", [at(2024, 6, 1), at(2024, 7, 1), at(2024, 8, 1)]),
        ("every month", [at(2024, 6, 1), at(2024, 7, 1), at(2024, 8, 1)]),
        ("yearly", [at(2025, 1, 1), at(2026, 1, 1), at(2027, 1, 1)]),
        ("annually", [at(2025, 1, 1), at(2026, 1, 1), at(2027, 1, 1)]),
        ("once per year", [at(2025, 1, 1), at(2026, 1, 1), at(2027, 1, 1)]),
        ("weekly", [at(2024, 5, 20), at(2024, 5, 27), at(2024, 6, 3)]),
        ("every week", [at(2024, 5, 20), at(2024, 5, 27), at(2024, 6, 3)]),
        ("monday", [at(2024, 5, 20), at(2024, 5, 27), at(2024, 6, 3)]),
        ("mondays", [at(2024, 5, 20), at(2024, 5, 27), at(2024, 6, 3)]),
        ("mon", [at(2024, 5, 20), at(2024, 5, 27), at(2024, 6, 3)]),
        ("every friday", [at(2024, 5, 17), at(2024, 5, 24), at(2024, 5, 31)]),
        ("sundays", [at(2024, 5, 19), at(2024, 5, 26), at(2024, 6, 2)]),
        ("weekdays", [at(2024, 5, 16), at(2024, 5, 17), at(2024, 5, 20)]),
        ("weekday", [at(2024, 5, 16), at(2024, 5, 17), at(2024, 5, 20)]),
        ("weekends", [at(2024, 5, 18), at(2024, 5, 19), at(2024, 5, 25)]),
        # bare number = cron minute (upstream quirk kept on purpose)
        ("5", [at(2024, 5, 15, 11, 5), at(2024, 5, 15, 12, 5), at(2024, 5, 15, 13, 5)]),
        ("45", [at(2024, 5, 15, 10, 45), at(2024, 5, 15, 11, 45), at(2024, 5, 15, 12, 45)]),
        # cron expressions
        ("*/15 * * * *", [at(2024, 5, 15, 10, 30), at(2024, 5, 15, 10, 45), at(2024, 5, 15, 11)]),
        ("0 9-17/4 * * *", [at(2024, 5, 15, 13), at(2024, 5, 15, 17), at(2024, 5, 16, 9)]),
        ("0 0 1,15 * *", [at(2024, 6, 1), at(2024, 6, 15), at(2024, 7, 1)]),
        ("0 12 * * mon-fri", [at(2024, 5, 15, 12), at(2024, 5, 16, 12), at(2024, 5, 17, 12)]),
        ("0 0 1 jan,jul *", [at(2024, 7, 1), at(2025, 1, 1), at(2025, 7, 1)]),
        ("0 0 ? * SUN", [at(2024, 5, 19), at(2024, 5, 26), at(2024, 6, 2)]),
        ("0 0 L * *", [at(2024, 5, 31), at(2024, 6, 30), at(2024, 7, 31)]),
        ("0 0 * * 5L", [at(2024, 5, 31), at(2024, 6, 28), at(2024, 7, 26)]),
        # the last Tuesday of January and March, spelled by day name (upstream's own scheduler example)
        ("30 5 * jan,mar Ltue", [at(2025, 1, 28, 5, 30), at(2025, 3, 25, 5, 30), at(2026, 1, 27, 5, 30)]),
        ("0 0 * * friL", [at(2024, 5, 31), at(2024, 6, 28), at(2024, 7, 26)]),
        # the last Wednesday, Thursday and Friday of each month
        ("0 0 * * Lwed-fri", [at(2024, 5, 29), at(2024, 5, 30), at(2024, 5, 31)]),
        # Sunday ends a range as 7: Friday to Sunday
        ("0 0 * * fri-sun", [at(2024, 5, 17), at(2024, 5, 18), at(2024, 5, 19)]),
        ("0 0 1 1 * 2030", [at(2030, 1, 1)]),
        ("30 6 1 * * 2025-2026", [at(2025, 1, 1, 6, 30), at(2025, 2, 1, 6, 30), at(2025, 3, 1, 6, 30)]),
        ("@yearly", [at(2025, 1, 1), at(2026, 1, 1), at(2027, 1, 1)]),
        ("@annually", [at(2025, 1, 1), at(2026, 1, 1), at(2027, 1, 1)]),
        ("@monthly", [at(2024, 6, 1), at(2024, 7, 1), at(2024, 8, 1)]),
        ("@weekly", [at(2024, 5, 19), at(2024, 5, 26), at(2024, 6, 2)]),
        ("@daily", [at(2024, 5, 16), at(2024, 5, 17), at(2024, 5, 18)]),
        ("@hourly", [at(2024, 5, 15, 11), at(2024, 5, 15, 12), at(2024, 5, 15, 13)]),
        ("@minutely", [at(2024, 5, 15, 10, 21), at(2024, 5, 15, 10, 22), at(2024, 5, 15, 10, 23)]),
    ],
)
def test_wall_clock_forms(interval: str, expected: list[datetime]) -> None:
    assert fires(interval) == expected


def test_year_field_with_no_future_year_never_fires() -> None:
    assert fires("0 0 1 1 * 2020") == []


@pytest.mark.parametrize("weekdays", ["wed-mon", "6-1", "sat-tue,fri"])
def test_a_day_of_week_range_running_backwards_is_refused(weekdays: str) -> None:
    with pytest.raises(InvalidScheduleError, match="runs backwards"):
        parse_schedule(f"0 0 * * {weekdays}")


def test_heartbeat_alias_is_one_second() -> None:
    assert parse_schedule(1) == IntervalSchedule(1)


@pytest.mark.parametrize(
    "timestamp, expected",
    [
        ("11:00", [at(2024, 5, 15, 11), at(2024, 5, 16, 11), at(2024, 5, 17, 11)]),
        ("10:20", [at(2024, 5, 16, 10, 20), at(2024, 5, 17, 10, 20), at(2024, 5, 18, 10, 20)]),
        ("10:20:45", [at(2024, 5, 15, 10, 20, 45), at(2024, 5, 16, 10, 20, 45), at(2024, 5, 17, 10, 20, 45)]),
        ("00:00:00", [at(2024, 5, 16), at(2024, 5, 17), at(2024, 5, 18)]),
        ("2024-06-01 08:00", [at(2024, 6, 1, 8)]),
        ("2024-06-01 08:00:30", [at(2024, 6, 1, 8, 0, 30)]),
        ("2020-06-01 08:00", []),  # a one-off in the past never fires
    ],
)
def test_timestamp_forms(timestamp: str, expected: list[datetime]) -> None:
    assert fires(timestamp=timestamp) == expected


def test_timestamp_in_a_time_zone() -> None:
    assert fires(timestamp="09:00", tz="Europe/Stockholm", n=1) == [at(2024, 5, 16, 7)]
    assert parse_schedule(timestamp="2024-06-01 08:00", timezone="America/New_York") == OnceSchedule(at(2024, 6, 1, 12))


@pytest.mark.parametrize(
    "value, offset",
    [
        ("+01:00", timedelta(hours=1)),
        ("+0100", timedelta(hours=1)),
        ("GMT +1", timedelta(hours=1)),
        ("GMT -05:00", timedelta(hours=-5)),
        ("gmt+2", timedelta(hours=2)),
        ("UTC+05:30", timedelta(hours=5, minutes=30)),
        ("-0330", timedelta(hours=-3, minutes=-30)),
    ],
)
def test_offset_time_zone_aliases(value: str, offset: timedelta) -> None:
    assert parse_timezone(value).utcoffset(None) == offset
    first = fires("daily", tz=value, n=1)[0]
    local = first.astimezone(parse_timezone(value))
    assert (local.hour, local.minute) == (0, 0)
    assert AFTER < first <= AFTER + timedelta(days=1)


def test_iana_time_zones() -> None:
    assert parse_timezone("Europe/Stockholm") == ZoneInfo("Europe/Stockholm")
    assert parse_timezone("europe/stockholm") == ZoneInfo("Europe/Stockholm")
    assert parse_timezone("UTC").utcoffset(None) == timedelta(0)
    assert fires("0 12 * * *", tz="Asia/Tokyo", n=1) == [at(2024, 5, 16, 3)]


def test_default_zone_is_the_local_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "America/New_York")
    assert local_timezone() == ZoneInfo("America/New_York")
    schedule = parse_schedule("0 12 * * *")
    assert isinstance(schedule, WallClockSchedule) and schedule.tz == ZoneInfo("America/New_York")
    assert next_fire_time(schedule, AFTER) == at(2024, 5, 15, 16)


@pytest.mark.parametrize(
    "interval, timestamp, tz, message",
    [
        ("not a schedule", None, None, "Invalid interval"),
        ("every 5 fortnights", None, None, "Invalid interval"),
        ("61 * * * *", None, None, "cron"),
        ("0 0 30 2 *", None, None, "never matches"),
        ("* * * * * * *", None, None, "5 fields"),
        ("0 0 1 1 * 1800", None, None, "year"),
        ("every 2 months", None, None, "cron expression"),
        ("0s", None, None, "positive"),
        (0, None, None, "positive"),
        (-5, None, None, "positive"),
        (True, None, None, "Invalid interval"),
        ("", None, None, "Invalid interval"),
        (None, "monthly", None, "Invalid timestamp"),
        (None, "25:00", None, "Invalid timestamp"),
        (None, "2024-02-30 10:00", None, "Invalid timestamp"),
        (None, None, None, "interval or a timestamp"),
        (5, "10:00", None, "not both"),
        (5, None, "Mars/Olympus_Mons", "Invalid timezone"),
        (5, None, "+25:00", "Invalid timezone"),
        (5, None, "", "Invalid timezone"),
    ],
)
def test_invalid_arguments_are_rejected_with_a_reason(
    interval: object, timestamp: object, tz: object, message: str
) -> None:
    with pytest.raises(InvalidScheduleError, match=message):
        parse_schedule(interval, timestamp, tz)  # type: ignore[arg-type]
