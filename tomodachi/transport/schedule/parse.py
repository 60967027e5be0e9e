"""Turns the scheduler decorator's ``interval`` / ``timestamp`` / ``timezone`` arguments into a Schedule.

Every form of the compatibility spec keeps its meaning (bare ``"5"`` is cron minute 5, ``"1m"`` is the
every-minute alias); phrases upstream rejected (``"every 5 seconds"``, ``"2m"``, ``"2 hours"``) are accepted too.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from datetime import timezone as dt_timezone
from typing import TypeAlias
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class InvalidScheduleError(ValueError):
    """A scheduler decorator was given an interval, timestamp or time zone that cannot be scheduled."""


@dataclass(frozen=True)
class IntervalSchedule:
    """Every ``seconds`` seconds, counted from the moment the schedule starts (fire times never drift)."""

    seconds: float


@dataclass(frozen=True)
class WallClockSchedule:
    """Local wall-clock times in ``tz`` given by a cron expression.

    ``expression`` is a 6-field croniter expression (minute hour day month weekday second); ``years`` limits
    the years (``None`` = any). ``follows_real_time`` is true when the hour field starts with ``*`` (jobs that
    run every hour or more often): on DST days such jobs run by elapsed time — wall-clock times skipped by a
    spring-forward gap do not run, and the repeated hour of a fall-back runs twice. Other jobs run once per
    matching wall-clock time: in the repeated hour only the first time, and a time inside a gap at the first
    valid instant after the gap.
    """

    expression: str
    tz: tzinfo
    years: frozenset[int] | None = None
    follows_real_time: bool = False


@dataclass(frozen=True)
class OnceSchedule:
    """A single instant (``timestamp="YYYY-MM-DD HH:MM[:SS]"``)."""

    at: datetime


Schedule: TypeAlias = IntervalSchedule | WallClockSchedule | OnceSchedule

# spelled units of time and their length in seconds (also read by the test clock's spoken durations)
UNIT_SECONDS: dict[str, int] = {}
for _names, _seconds in (
    (("s", "sec", "secs", "second", "seconds"), 1),
    (("m", "min", "mins", "minute", "minutes"), 60),
    (("h", "hr", "hrs", "hour", "hours"), 3600),
    (("d", "day", "days"), 86400),
    (("w", "wk", "wks", "week", "weeks"), 604800),
):
    for _name in _names:
        UNIT_SECONDS[_name] = _seconds
_CALENDAR_UNITS = {"month": "month", "months": "month", "y": "year", "yr": "year", "year": "year", "years": "year"}

# the alias every unit means when it stands alone ("minute", "every minute", "1 minute", "minutely" ...)
_UNIT_ALIAS: dict[str, str | int] = {
    "second": 1,
    "minute": "* * * * *",
    "hour": "0 * * * *",
    "day": "0 0 * * *",
    "week": "0 0 * * 1",
    "month": "0 0 1 * *",
    "year": "0 0 1 1 *",
}
_UNIT_OF_SECONDS = {1: "second", 60: "minute", 3600: "hour", 86400: "day", 604800: "week"}
_ADVERBS = {
    "secondly": "second",
    "minutely": "minute",
    "hourly": "hour",
    "daily": "day",
    "nightly": "day",
    "weekly": "week",
    "monthly": "month",
    "yearly": "year",
    "annually": "year",
}
_WEEKDAYS = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
_CRON_ALIASES = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
    "@minutely": "* * * * *",
}
_PREFIX = r"(?:every\s+|each\s+|once\s+(?:per|a|an|every|each)\s+|on\s+)?"
_AMOUNT = re.compile(_PREFIX + r"(\d+(?:\.\d+)?)\s*([a-z]+)")
_WORD = re.compile(_PREFIX + r"([a-z]+)")
_NUMERIC_CRON_FIELD = re.compile(r"[\d*/,?-]+")
_DAILY_TIME = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")
_DATE_TIME = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?")
_OFFSET = re.compile(r"(?:(?:gmt|utc)\s*)?([+-])\s*(\d{1,2})(?::?(\d{2}))?")
_YEAR_RANGE = (1970, 2199)


def parse_schedule(
    interval: int | float | str | None = None,
    timestamp: str | None = None,
    timezone: str | tzinfo | None = None,
) -> Schedule:
    """The Schedule for the decorator arguments; raises InvalidScheduleError with the reason."""
    tz = parse_timezone(timezone)  # not kept: the local zone follows TZ, which may change between starts
    try:
        return _parsed(interval, timestamp, tz)
    except TypeError:  # an unhashable argument: parsed, and refused, without the cache
        return _parse(interval, timestamp, tz)


def _parse(interval: int | float | str | None, timestamp: str | None, tz: tzinfo) -> Schedule:
    if interval is not None and timestamp is not None:
        raise InvalidScheduleError("give either an interval or a timestamp, not both")
    if interval is not None:
        return parse_interval(interval, tz)
    if timestamp is not None:
        return parse_timestamp(timestamp, tz)
    raise InvalidScheduleError("an interval or a timestamp is required")


# a Schedule is immutable and depends on its arguments only: a service started once per test parses its cron
# expressions once per process (typed: ``True`` is refused as an interval, ``1`` is not)
_parsed = functools.lru_cache(maxsize=512, typed=True)(_parse)


def parse_interval(interval: int | float | str, tz: tzinfo) -> Schedule:
    if isinstance(interval, bool) or not isinstance(interval, (int, float, str)):
        raise InvalidScheduleError(f"Invalid interval {interval!r}: expected seconds (int) or a string")
    if isinstance(interval, (int, float)):
        if not interval > 0:
            raise InvalidScheduleError(f"Invalid interval {interval!r}: must be a positive number of seconds")
        return IntervalSchedule(interval)
    text = " ".join(interval.strip().lower().split())
    if not text:
        raise InvalidScheduleError("Invalid interval '': empty string")
    meaning = _phrase(text)
    if isinstance(meaning, IntervalSchedule):
        return meaning
    if meaning is not None:
        return _cron(meaning, tz)
    if _NUMERIC_CRON_FIELD.fullmatch(text.replace(" ", "")) and len(text.split()) < 5:
        # a shortened numeric cron: missing fields are "*" (so a bare "5" is minute 5 of every hour)
        fields = text.split()
        return _cron(" ".join(fields + ["*"] * (5 - len(fields))), tz)
    try:
        return _cron(_CRON_ALIASES.get(text, text), tz)
    except InvalidScheduleError as exc:
        raise InvalidScheduleError(f"Invalid interval {interval!r}: {exc}") from None


def _phrase(text: str) -> str | IntervalSchedule | None:
    """The cron expression or interval a worded interval means, ``None`` if ``text`` is not one."""
    if text in _ADVERBS:
        return _alias(_ADVERBS[text])
    amount = _AMOUNT.fullmatch(text)
    if amount is not None:
        number, unit = float(amount.group(1)), amount.group(2)
        if unit in UNIT_SECONDS:
            if number <= 0:
                raise InvalidScheduleError(f"Invalid interval {text!r}: must be positive")
            if number == 1:  # "1m", "1 hour", "every 1 day": the aligned alias, as upstream
                return _alias(_UNIT_OF_SECONDS[UNIT_SECONDS[unit]])
            return IntervalSchedule(_whole(number * UNIT_SECONDS[unit]))
        if unit in _CALENDAR_UNITS:
            if number == 1:
                return _alias(_CALENDAR_UNITS[unit])
            raise InvalidScheduleError(f"Invalid interval {text!r}: use a cron expression for multi-month/year steps")
        return None
    word = _WORD.fullmatch(text)
    if word is None:
        return None
    name = word.group(1)
    explicit = text != name  # "every x" / "once per x": single-letter units are fine there
    unit = UNIT_SECONDS.get(name)
    if unit is not None and (explicit or len(name) > 1):
        return _alias(_UNIT_OF_SECONDS[unit])
    if name in _CALENDAR_UNITS and (explicit or len(name) > 1):
        return _alias(_CALENDAR_UNITS[name])
    if name in _ADVERBS:
        return _alias(_ADVERBS[name])
    weekday = _weekday(name)
    if weekday is not None:
        return f"0 0 * * {weekday}"
    if name in ("weekday", "weekdays"):
        return "0 0 * * 1-5"
    if name in ("weekend", "weekends"):
        return "0 0 * * 0,6"
    return None


def _alias(unit: str) -> str | IntervalSchedule:
    meaning = _UNIT_ALIAS[unit]
    return IntervalSchedule(meaning) if isinstance(meaning, int) else meaning


def _whole(seconds: float) -> float:
    return int(seconds) if seconds == int(seconds) else seconds


def _weekday(name: str) -> int | None:
    for number, day in enumerate(_WEEKDAYS):
        if name in (day, day + "s", day[:3]):
            return number
    return None


def _last_weekday(match: re.Match[str]) -> str:
    name = (match.group(1) or match.group(2)).lower()
    number = _weekday(name)
    return f"L{number}" if number is not None else match.group(0)


def _day_number(token: str, *, ends_range: bool) -> int | None:
    """A day-of-week token as a number (Sunday 0, or 7 where it ends a range, as in "fri-sun")."""
    number = int(token) if token.isdigit() else _weekday(token.lower())
    if number is not None and ends_range and number == 0 and not token.isdigit():
        return 7
    return number


def _weekday_ranges(weekday: str) -> str:
    """Expand "Lwed-fri" (the last Wednesday, Thursday and Friday of the month) to "L3,L4,L5", and refuse a range
    that runs backwards ("wed-mon"): cron, like upstream, reads ranges forwards only."""
    parts = []
    for part in weekday.split(","):
        match = re.fullmatch(r"(L?)([a-z]{3}|[0-7])-([a-z]{3}|[0-7])(/\d+)?", part, flags=re.IGNORECASE)
        if match is None:
            parts.append(part)
            continue
        last, first_token, end_token, step = match.groups()
        first = _day_number(first_token, ends_range=False)
        end = _day_number(end_token, ends_range=True)
        if first is None or end is None:
            parts.append(part)
            continue
        if first > end:
            raise InvalidScheduleError(
                f"day-of-week range {part!r} runs backwards: write it as two ranges (e.g. 'wed-sat,sun-mon')"
            )
        if last:
            if step:
                raise InvalidScheduleError(f"a step is not allowed in a last-weekday range {part!r}")
            parts.append(",".join(f"L{number % 7}" for number in range(first, end + 1)))
        else:
            parts.append(part)
    return ",".join(parts)


def _cron(expression: str, tz: tzinfo) -> WallClockSchedule:
    fields = expression.split()
    if len(fields) not in (5, 6):
        raise InvalidScheduleError(f"a cron expression has 5 fields (or 6 with a year), got {len(fields)}")
    minute, hour, day, month, weekday = fields[:5]
    years = _parse_years(fields[5]) if len(fields) == 6 else None
    weekday = _weekday_ranges(weekday)
    # quartz-style "5L" / "friL" and "Lfri" (last Friday of the month) are croniter's "L5"
    weekday = re.sub(r"\b([0-7])L\b", r"L\1", weekday, flags=re.IGNORECASE)
    weekday = re.sub(r"\b(?:L([a-z]{3})|([a-z]{3})L)\b", _last_weekday, weekday, flags=re.IGNORECASE)
    croniter_expression = f"{minute} {hour} {day} {month} {weekday} 0"
    from croniter import CroniterBadDateError, CroniterError, croniter  # ~30 ms: only when a cron is parsed

    try:
        # a first match proves the expression can ever fire (a "30 2" day-of-month never does)
        croniter(croniter_expression, datetime(2000, 1, 1)).get_next(datetime)
    except CroniterBadDateError:
        raise InvalidScheduleError(f"cron expression {expression!r} never matches a date") from None
    except (CroniterError, ValueError, KeyError, IndexError) as exc:
        raise InvalidScheduleError(f"not a valid cron expression {expression!r} ({exc})") from None
    return WallClockSchedule(croniter_expression, tz, years, follows_real_time=hour.startswith("*"))


def _parse_years(field: str) -> frozenset[int] | None:
    if field in ("*", "?"):
        return None
    low, high = _YEAR_RANGE
    years: set[int] = set()
    for part in field.split(","):
        match = re.fullmatch(r"(\*|\d{4})(?:-(\d{4}))?(?:/(\d+))?", part)
        if match is None:
            raise InvalidScheduleError(f"invalid year field {field!r}")
        first = low if match.group(1) == "*" else int(match.group(1))
        last = int(match.group(2)) if match.group(2) else (high if match.group(1) == "*" or match.group(3) else first)
        step = int(match.group(3) or 1)
        if not (low <= first <= last <= high) or step < 1:
            raise InvalidScheduleError(f"invalid year field {field!r} (years {low}-{high})")
        years.update(range(first, last + 1, step))
    return frozenset(years)


def parse_timestamp(timestamp: str, tz: tzinfo) -> Schedule:
    if not isinstance(timestamp, str):
        raise InvalidScheduleError(f"Invalid timestamp {timestamp!r}: expected a string")
    text = timestamp.strip()
    daily = _DAILY_TIME.fullmatch(text)
    if daily is not None:
        hour, minute, second = int(daily.group(1)), int(daily.group(2)), int(daily.group(3) or 0)
        if hour > 23 or minute > 59 or second > 59:
            raise InvalidScheduleError(f"Invalid timestamp {timestamp!r}: not a time of day")
        return WallClockSchedule(f"{minute} {hour} * * * {second}", tz)
    once = _DATE_TIME.fullmatch(text)
    if once is not None:
        year, month, day, hour, minute, second = (int(value) for value in once.groups(default="0"))
        try:
            wall = datetime(year, month, day, hour, minute, second)
        except ValueError as exc:
            raise InvalidScheduleError(f"Invalid timestamp {timestamp!r}: {exc}") from None
        from tomodachi.transport.schedule.fire_times import resolve_wall_time

        return OnceSchedule(resolve_wall_time(wall, tz))
    raise InvalidScheduleError(
        f"Invalid timestamp {timestamp!r}: expected 'HH:MM', 'HH:MM:SS' or 'YYYY-MM-DD HH:MM[:SS]'"
    )


def next_fire_time(schedule: Schedule, after: datetime, *, anchor: datetime | None = None) -> datetime | None:
    """The first fire time of ``schedule`` strictly after ``after`` (see ``fire_times.next_fire_time``)."""
    from tomodachi.transport.schedule.fire_times import next_fire_time as compute

    return compute(schedule, after, anchor=anchor)


def parse_timezone(value: str | tzinfo | None) -> tzinfo:
    """An IANA zone name or an offset alias (``+01:00``, ``+0100``, ``GMT +1``, ``GMT -05:00``); ``None`` = local."""
    if value is None:
        return local_timezone()
    if isinstance(value, tzinfo):
        return value
    if not isinstance(value, str) or not value.strip():
        raise InvalidScheduleError(f"Invalid timezone {value!r}")
    text = value.strip()
    offset = _OFFSET.fullmatch(text.lower())
    if offset is not None:
        sign = -1 if offset.group(1) == "-" else 1
        hours, minutes = int(offset.group(2)), int(offset.group(3) or 0)
        if hours > 14 or minutes > 59:
            raise InvalidScheduleError(f"Invalid timezone {value!r}: offset out of range")
        return dt_timezone(sign * timedelta(hours=hours, minutes=minutes))
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        pass
    # IANA names are case-sensitive on disk; accept "europe/stockholm" like pytz did
    from zoneinfo import available_timezones

    for name in available_timezones():
        if name.lower() == text.lower():
            return ZoneInfo(name)
    raise InvalidScheduleError(f"Invalid timezone {value!r}: not an IANA time zone name or UTC offset")


def local_timezone() -> tzinfo:
    """The process's local zone as a DST-aware zone when it can be named (TZ, /etc/localtime), else its offset."""
    candidates: list[str] = []
    env = os.environ.get("TZ", "").lstrip(":")
    if env:
        candidates.append(env)
    linked = _etc_localtime_zone()
    if linked:
        candidates.append(linked)
    for name in candidates:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            continue
    return datetime.now().astimezone().tzinfo or dt_timezone.utc


@functools.cache  # the system's zone link is read once per process: every service start asks for the local zone
def _etc_localtime_zone() -> str | None:
    """The IANA name /etc/localtime links to, if it does."""
    try:
        target = os.path.realpath("/etc/localtime")
    except OSError:
        return None
    return target.split("zoneinfo/", 1)[1] if "zoneinfo/" in target else None
