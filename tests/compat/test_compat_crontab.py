"""tomodachi.helpers.crontab.get_next_datetime on the scheduler's cron engine."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from tomodachi.helpers.crontab import get_next_datetime


@pytest.mark.parametrize(
    ("cron", "now", "expected"),
    [
        ("*/5 * * * *", datetime(2024, 1, 1, 10, 3, 10), datetime(2024, 1, 1, 10, 5)),
        ("* * * * *", datetime(2024, 1, 1, 10, 3, 10), datetime(2024, 1, 1, 10, 4)),
        ("0 * * * *", datetime(2024, 1, 1, 10, 0, 0), datetime(2024, 1, 1, 10, 0)),  # on the minute: included
        ("0 * * * *", datetime(2024, 1, 1, 10, 0, 1), datetime(2024, 1, 1, 11, 0)),
        ("@daily", datetime(2024, 12, 31, 23, 59, 30), datetime(2025, 1, 1, 0, 0)),
        ("@monthly", datetime(2024, 1, 15, 12, 0, 30), datetime(2024, 2, 1, 0, 0)),
        ("0 0 29 2 *", datetime(2023, 3, 1, 0, 0, 30), datetime(2024, 2, 29, 0, 0)),
        ("30 9 * * mon-fri", datetime(2024, 1, 5, 9, 30, 5), datetime(2024, 1, 8, 9, 30)),  # Fri → Mon
        ("15", datetime(2024, 1, 1, 10, 20, 5), datetime(2024, 1, 1, 11, 15)),  # short form: minute 15
        ("0 12 1 1 * 2030", datetime(2024, 6, 1, 0, 0, 5), datetime(2030, 1, 1, 12, 0)),
    ],
)
def test_next_datetime(cron: str, now: datetime, expected: datetime) -> None:
    assert get_next_datetime(cron, now) == expected


def test_naive_in_naive_out() -> None:
    result = get_next_datetime("* * * * *", datetime(2024, 1, 1, 0, 0, 30))
    assert result is not None and result.tzinfo is None


def test_aware_input_keeps_its_zone() -> None:
    zone = ZoneInfo("Europe/Stockholm")
    result = get_next_datetime("0 9 * * *", datetime(2024, 6, 1, 10, 0, 5, tzinfo=zone))
    assert result == datetime(2024, 6, 2, 9, 0, tzinfo=zone)
    assert result is not None and result.tzinfo is zone
    fixed = timezone(timedelta(hours=-5))
    assert get_next_datetime("0 0 * * *", datetime(2024, 1, 1, 23, 0, 30, tzinfo=fixed)) == datetime(
        2024, 1, 2, tzinfo=fixed
    )


def test_never_again_is_none() -> None:
    assert get_next_datetime("0 0 1 1 * 2020", datetime(2024, 1, 1, 0, 0, 5)) is None


@pytest.mark.parametrize("cron", ["61 * * * *", "* * 32 * *", "0 0 30 2 *", "nonsense cron", "every 5 seconds"])
def test_invalid_notation_raises_value_error(cron: str) -> None:
    with pytest.raises(ValueError):
        get_next_datetime(cron, datetime(2024, 1, 1))


def test_years_all_past_give_none_but_years_to_come_without_a_match_are_an_error() -> None:
    now = datetime(2024, 6, 15, 10, 16, 50)
    assert get_next_datetime("0 0 1 1 * 2011-2013", now) is None
    with pytest.raises(ValueError, match="never matches"):
        get_next_datetime("* * 29 2 * 2025-2027", now)  # no 29 February in those years
    assert get_next_datetime("* * 29 2 * 2025-2028", now) == datetime(2028, 2, 29, 0, 0)
