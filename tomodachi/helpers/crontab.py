"""``get_next_datetime(cron, now)``: the next time a cron expression matches, on the scheduler's cron engine."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from tomodachi.transport.schedule.parse import InvalidScheduleError, WallClockSchedule, parse_interval

__all__ = ["InvalidScheduleError", "get_next_datetime"]


def get_next_datetime(crontab_notation: str, now_date: datetime) -> datetime | None:
    """The first minute matching ``crontab_notation`` (5 fields, optional 6th year field, or an ``@alias``).

    A ``now_date`` exactly on a minute (second 0) is itself a candidate; otherwise the result is later than
    ``now_date``. A naive ``now_date`` gives a naive result (its wall clock is used as is); an aware one gives
    a result in the same zone, with daylight-saving transitions handled like scheduled functions. ``None``
    when the expression's years are all past. Raises InvalidScheduleError (a ValueError) for a malformed
    expression, and for one whose years still to come have no matching date.
    """
    if not isinstance(crontab_notation, str):
        raise InvalidScheduleError(f"Invalid cron notation {crontab_notation!r}: expected a string")
    zone = now_date.tzinfo or timezone.utc
    schedule = parse_interval(crontab_notation, zone)
    if not isinstance(schedule, WallClockSchedule):
        raise InvalidScheduleError(f"Invalid cron notation {crontab_notation!r}: not a cron expression")
    from tomodachi.transport.schedule.fire_times import next_fire_time  # croniter: only when used

    after = now_date if now_date.tzinfo is not None else now_date.replace(tzinfo=timezone.utc)
    if now_date.second == 0:
        # on the minute: that minute itself matches (fire times are strictly after ``after``)
        after = after.replace(microsecond=0) - timedelta(microseconds=1)
    found = next_fire_time(schedule, after)
    if found is None:
        if schedule.years and max(schedule.years) >= after.year:
            # years still to come were named, yet none of them has a matching date (e.g. 29 Feb in 2017-2019)
            raise InvalidScheduleError(f"cron notation {crontab_notation!r} never matches in its years")
        return None
    if now_date.tzinfo is None:
        return found.replace(tzinfo=None)
    return found.astimezone(now_date.tzinfo)
