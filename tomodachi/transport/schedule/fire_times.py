"""Fire times of a Schedule: pure functions of the schedule and a starting instant (no clock reads).

Wall-clock schedules are evaluated in local time of their zone and mapped to UTC instants with the DST policy
described on ``WallClockSchedule``.
"""

from __future__ import annotations

import functools
import heapq
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone, tzinfo

from croniter import CroniterBadDateError, croniter

from tomodachi.transport.schedule.parse import IntervalSchedule, OnceSchedule, Schedule, WallClockSchedule

_UTC = timezone.utc
_MICROSECOND = timedelta(microseconds=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=_UTC)


def next_fire_time(schedule: Schedule, after: datetime, *, anchor: datetime | None = None) -> datetime | None:
    """The first fire time strictly after ``after`` (UTC-aware), or ``None`` if the schedule never fires again.

    ``anchor`` is when an interval schedule started (fire times are ``anchor + k * interval``, ``k >= 1``);
    it defaults to ``after``.
    """
    return next(iter_fire_times(schedule, after, anchor=anchor), None)


def iter_fire_times(schedule: Schedule, after: datetime, *, anchor: datetime | None = None) -> Iterator[datetime]:
    """Every fire time strictly after ``after``, in order, as UTC-aware datetimes."""
    after = _aware(after).astimezone(_UTC)
    if isinstance(schedule, IntervalSchedule):
        return _interval_times(schedule.seconds, after, _aware(anchor).astimezone(_UTC) if anchor else after)
    if isinstance(schedule, OnceSchedule):
        at = schedule.at.astimezone(_UTC)
        return iter([at] if at > after else [])
    return _wall_clock_times(schedule, after)


def resolve_wall_time(wall: datetime, tz: tzinfo) -> datetime:
    """The instant a one-off local wall-clock time means: the first one if repeated, the gap's end if skipped."""
    instants, _ = _resolve(wall, tz, follows_real_time=False)
    return instants[0].replace(tzinfo=_UTC)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=_UTC)


def _interval_times(seconds: float, after: datetime, anchor: datetime) -> Iterator[datetime]:
    # integer microseconds so that anchor + k * interval is exact for any k (no drift, no float creep)
    step = max(1, round(seconds * 1_000_000))
    origin = (anchor - _EPOCH) // _MICROSECOND
    elapsed = (after - _EPOCH) // _MICROSECOND - origin
    k = max(1, elapsed // step + 1)
    while True:
        yield _EPOCH + timedelta(microseconds=origin + k * step)
        k += 1


def _wall_clock_times(schedule: WallClockSchedule, after: datetime) -> Iterator[datetime]:
    first = _first_wall_clock_time(schedule, after)
    if first is None:
        return
    yield first
    yield from _wall_clock_times_after(schedule, first)


@functools.lru_cache(maxsize=256)
def _first_wall_clock_time(schedule: WallClockSchedule, after: datetime) -> datetime | None:
    # every start of a service asks this; under a test's virtual clock that is the same question each time (the
    # same schedules, the same starting instant), and croniter's answer costs more than the rest of a start
    return next(_wall_clock_times_after(schedule, after), None)


def _wall_clock_times_after(schedule: WallClockSchedule, after: datetime) -> Iterator[datetime]:
    tz = schedule.tz
    after_naive = after.replace(tzinfo=None)
    offset_now = after.astimezone(tz).utcoffset() or timedelta(0)
    offset_soon = (after + timedelta(hours=3)).astimezone(tz).utcoffset() or timedelta(0)
    # a fall-back just ahead repeats wall times we have already passed: start that much earlier
    start = after_naive + offset_now - max(timedelta(0), offset_now - offset_soon)
    pending: list[datetime] = []  # a heap; instants wait here until no later wall time can precede them
    queued: set[datetime] = set()
    last: datetime | None = None
    for wall in _wall_times(schedule, start):
        instants, lower_bound = _resolve(wall, tz, schedule.follows_real_time)
        for instant in instants:
            if instant > after_naive and instant not in queued and (last is None or instant > last):
                heapq.heappush(pending, instant)
                queued.add(instant)
        while pending and pending[0] <= lower_bound:
            last = heapq.heappop(pending)
            queued.discard(last)
            yield last.replace(tzinfo=_UTC)
    while pending:
        yield heapq.heappop(pending).replace(tzinfo=_UTC)


def _wall_times(schedule: WallClockSchedule, start: datetime) -> Iterator[datetime]:
    """Naive local times matching the cron expression, strictly after ``start``, honouring the year field."""
    years = schedule.years
    cursor = croniter(schedule.expression, start)
    while True:
        try:
            wall: datetime = cursor.get_next(datetime)
        except CroniterBadDateError:
            return
        if years is None or wall.year in years:
            yield wall
            continue
        later = [year for year in years if year > wall.year]
        if not later:
            return
        cursor = croniter(schedule.expression, datetime(min(later), 1, 1) - _MICROSECOND)


def _resolve(wall: datetime, tz: tzinfo, follows_real_time: bool) -> tuple[list[datetime], datetime]:
    """UTC instants (naive) at which local ``wall`` fires, and a lower bound for every later wall time's instants.

    The bound (the earlier of the two fold interpretations) never decreases as ``wall`` increases, so an
    instant at or below it can be emitted safely.
    """
    first = wall.replace(tzinfo=tz).utcoffset() or timedelta(0)
    second = wall.replace(tzinfo=tz, fold=1).utcoffset() or timedelta(0)
    if first == second:
        instant = wall - first
        return [instant], instant
    if first > second:  # repeated hour (fall back): fold=0 is the first pass
        passes = [wall - first, wall - second]
        return (passes if follows_real_time else passes[:1]), passes[0]
    # skipped hour (spring forward): the wall time never shows
    before, after = wall - second, wall - first  # the transition lies between these instants
    if follows_real_time:
        return [], before
    return [_transition(tz, before, after)], before


def _transition(tz: tzinfo, low: datetime, high: datetime) -> datetime:
    """First instant (naive UTC, whole seconds) in ``(low, high]`` whose offset differs from ``low``'s."""
    offset = low.replace(tzinfo=_UTC).astimezone(tz).utcoffset()
    low_s = int((low - datetime(1970, 1, 1)).total_seconds())
    high_s = int((high - datetime(1970, 1, 1)).total_seconds())
    while high_s - low_s > 1:
        middle = (low_s + high_s) // 2
        if datetime.fromtimestamp(middle, tz).utcoffset() == offset:
            low_s = middle
        else:
            high_s = middle
    return datetime(1970, 1, 1) + timedelta(seconds=high_s)
