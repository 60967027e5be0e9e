"""Fire times across DST changes, month ends and leap years, and against croniter for random expressions."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from itertools import islice, takewhile
from zoneinfo import ZoneInfo

from croniter import croniter
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tomodachi.transport.schedule.fire_times import iter_fire_times, next_fire_time
from tomodachi.transport.schedule.parse import InvalidScheduleError, parse_schedule

UTC = timezone.utc
STOCKHOLM = ZoneInfo("Europe/Stockholm")
NEW_YORK = ZoneInfo("America/New_York")


def between(interval: str, tz: str, start: datetime, end: datetime, timestamp: str | None = None) -> list[datetime]:
    schedule = parse_schedule(None if timestamp else interval, timestamp, tz)
    return list(takewhile(lambda moment: moment < end, iter_fire_times(schedule, start)))


def local(moments: list[datetime], tz: ZoneInfo) -> list[str]:
    return [moment.astimezone(tz).strftime("%m-%d %H:%M %Z") for moment in moments]


# -- DST ---------------------------------------------------------------------------------------------------------


def test_daily_0230_on_spring_forward_day_fires_once_at_end_of_gap_stockholm() -> None:
    times = between(
        "30 2 * * *", "Europe/Stockholm", datetime(2024, 3, 29, tzinfo=UTC), datetime(2024, 4, 3, tzinfo=UTC)
    )
    assert local(times, STOCKHOLM) == [
        "03-29 02:30 CET",
        "03-30 02:30 CET",
        "03-31 03:00 CEST",  # 02:30 does not exist on this day: first valid instant after the gap
        "04-01 02:30 CEST",
        "04-02 02:30 CEST",
    ]


def test_daily_0230_on_fall_back_day_fires_once_stockholm() -> None:
    times = between(
        "30 2 * * *", "Europe/Stockholm", datetime(2024, 10, 25, tzinfo=UTC), datetime(2024, 10, 30, tzinfo=UTC)
    )
    assert local(times, STOCKHOLM) == [
        "10-25 02:30 CEST",
        "10-26 02:30 CEST",
        "10-27 02:30 CEST",  # the first of the two 02:30s only
        "10-28 02:30 CET",
        "10-29 02:30 CET",
    ]


def test_timestamp_0230_new_york_across_both_changes_fires_once_per_day() -> None:
    for start in (datetime(2024, 3, 8, tzinfo=UTC), datetime(2024, 11, 1, tzinfo=UTC)):
        times = between("", "America/New_York", start, start + timedelta(days=5), timestamp="02:30")
        days = [moment.astimezone(NEW_YORK).date() for moment in times]
        assert len(times) == 5
        assert days == sorted(set(days))
    spring = between(
        "", "America/New_York", datetime(2024, 3, 10, tzinfo=UTC), datetime(2024, 3, 11, tzinfo=UTC), "02:30"
    )
    assert local(spring, NEW_YORK) == ["03-10 03:00 EDT"]
    fall = between(
        "", "America/New_York", datetime(2024, 11, 3, tzinfo=UTC), datetime(2024, 11, 4, tzinfo=UTC), "01:30"
    )
    assert local(fall, NEW_YORK) == ["11-03 01:30 EDT"]


def test_several_wall_times_in_the_gap_collapse_into_one_run() -> None:
    times = between(
        "0,30 2,3 * * *",
        "America/New_York",
        datetime(2024, 3, 10, 5, tzinfo=UTC),
        datetime(2024, 3, 10, 12, tzinfo=UTC),
    )
    assert local(times, NEW_YORK) == ["03-10 03:00 EDT", "03-10 03:30 EDT"]


def test_hourly_jobs_follow_elapsed_time_across_dst() -> None:
    spring = between(
        "30 * * * *", "Europe/Stockholm", datetime(2024, 3, 30, 23, tzinfo=UTC), datetime(2024, 3, 31, 3, tzinfo=UTC)
    )
    assert local(spring, STOCKHOLM) == ["03-31 00:30 CET", "03-31 01:30 CET", "03-31 03:30 CEST", "03-31 04:30 CEST"]
    fall = between(
        "30 * * * *", "Europe/Stockholm", datetime(2024, 10, 26, 23, tzinfo=UTC), datetime(2024, 10, 27, 4, tzinfo=UTC)
    )
    assert local(fall, STOCKHOLM) == [
        "10-27 01:30 CEST",
        "10-27 02:30 CEST",
        "10-27 02:30 CET",  # the repeated hour runs again: an hourly job runs every real hour
        "10-27 03:30 CET",
        "10-27 04:30 CET",
    ]
    minutely = between(
        "minutely",
        "America/New_York",
        datetime(2024, 11, 3, 3, 59, 59, tzinfo=UTC),
        datetime(2024, 11, 4, 5, tzinfo=UTC),
    )
    assert len(minutely) == 1500  # 25 real hours (local midnight to midnight); every minute of the repeated hour twice
    assert all(b - a == timedelta(minutes=1) for a, b in zip(minutely, minutely[1:], strict=False))


def test_asking_again_from_the_same_instant_gives_the_same_fire_times_in_the_repeated_hour() -> None:
    # every start under a test's virtual clock asks from the same instant: the first answer is kept, the rest
    # of the sequence is worked out from it and must not lose the repeated hour's second 02:30
    start, end = datetime(2024, 10, 27, 0, 15, tzinfo=UTC), datetime(2024, 10, 27, 3, tzinfo=UTC)
    expected = ["10-27 02:30 CEST", "10-27 02:30 CET", "10-27 03:30 CET"]
    for _ in range(3):
        assert local(between("30 * * * *", "Europe/Stockholm", start, end), STOCKHOLM) == expected


def test_next_fire_time_from_inside_the_repeated_hour() -> None:
    schedule = parse_schedule("15 * * * *", timezone="Europe/Stockholm")
    # 02:20 CET, the second pass through 02:xx: the next run is 03:15 CET
    assert next_fire_time(schedule, datetime(2024, 10, 27, 1, 20, tzinfo=UTC)) == datetime(
        2024, 10, 27, 2, 15, tzinfo=UTC
    )
    # 02:20 CEST, the first pass: 02:15 comes again (CET) before 03:15
    assert next_fire_time(schedule, datetime(2024, 10, 27, 0, 20, tzinfo=UTC)) == datetime(
        2024, 10, 27, 1, 15, tzinfo=UTC
    )
    daily = parse_schedule("15 2 * * *", timezone="Europe/Stockholm")
    assert next_fire_time(daily, datetime(2024, 10, 27, 0, 20, tzinfo=UTC)) == datetime(2024, 10, 28, 1, 15, tzinfo=UTC)


def test_one_off_timestamp_in_gap_or_overlap() -> None:
    gap = parse_schedule(timestamp="2024-03-31 02:30", timezone="Europe/Stockholm")
    overlap = parse_schedule(timestamp="2024-10-27 02:30", timezone="Europe/Stockholm")
    assert next_fire_time(gap, datetime(2024, 1, 1, tzinfo=UTC)) == datetime(2024, 3, 31, 1, tzinfo=UTC)
    assert next_fire_time(overlap, datetime(2024, 1, 1, tzinfo=UTC)) == datetime(2024, 10, 27, 0, 30, tzinfo=UTC)


# -- month ends and leap years -----------------------------------------------------------------------------------


def test_day_31_skips_short_months_and_last_day_does_not() -> None:
    start, end = datetime(2024, 1, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC)
    assert [m.month for m in between("0 0 31 * *", "UTC", start, end)] == [1, 3, 5, 7, 8, 10, 12]
    last = between("0 0 L * *", "UTC", start, end)
    assert [m.date() for m in last][:3] == [date(2024, 1, 31), date(2024, 2, 29), date(2024, 3, 31)]
    assert len(last) == 12


def test_leap_day_fires_only_in_leap_years() -> None:
    times = between("0 12 29 2 *", "UTC", datetime(2023, 1, 1, tzinfo=UTC), datetime(2033, 1, 1, tzinfo=UTC))
    assert [m.year for m in times] == [2024, 2028, 2032]
    daily = between(
        "", "UTC", datetime(2024, 2, 27, tzinfo=UTC), datetime(2024, 3, 2, tzinfo=UTC), timestamp="23:59:59"
    )
    assert [m.day for m in daily] == [27, 28, 29, 1]
    monthly = between(
        "monthly", "Europe/Stockholm", datetime(2024, 1, 15, tzinfo=UTC), datetime(2024, 5, 15, tzinfo=UTC)
    )
    assert local(monthly, STOCKHOLM) == ["02-01 00:00 CET", "03-01 00:00 CET", "04-01 00:00 CEST", "05-01 00:00 CEST"]


def test_interval_fire_times_never_drift() -> None:
    anchor = datetime(2024, 1, 1, 0, 0, 0, 123456, tzinfo=UTC)
    schedule = parse_schedule(7)
    late = anchor + timedelta(days=3, seconds=5, microseconds=999)
    first = next_fire_time(schedule, late, anchor=anchor)
    assert first is not None and (first - anchor) % timedelta(seconds=7) == timedelta(0) and first > late
    times = list(islice(iter_fire_times(parse_schedule(0.1), anchor, anchor=anchor), 100_000))
    assert times[-1] == anchor + timedelta(seconds=10_000)


# -- against croniter --------------------------------------------------------------------------------------------


def _field(low: int, high: int) -> st.SearchStrategy[str]:
    value = st.integers(low, high)
    return st.one_of(
        st.just("*"),
        value.map(str),
        st.tuples(value, value).map(lambda ab: f"{min(ab)}-{max(ab)}"),
        st.integers(1, max(1, (high - low) // 2)).map(lambda step: f"*/{step}"),
        st.lists(value, min_size=2, max_size=4, unique=True).map(lambda vs: ",".join(map(str, sorted(vs)))),
        st.tuples(value, value, st.integers(1, 5)).map(lambda abs_: f"{min(abs_[:2])}-{max(abs_[:2])}/{abs_[2]}"),
    )


# at most three minutes an hour, so a week of fire times stays small (croniter is ~50 µs a step)
_minutes = st.one_of(
    st.integers(0, 59).map(str),
    st.lists(st.integers(0, 59), min_size=2, max_size=3, unique=True).map(lambda vs: ",".join(map(str, sorted(vs)))),
    st.integers(20, 59).map(lambda step: f"*/{step}"),
    st.tuples(st.integers(0, 30), st.integers(20, 30)).map(lambda start_step: f"{start_step[0]}-59/{start_step[1]}"),
)
cron_expressions = st.tuples(
    _minutes,
    _field(0, 23),
    st.one_of(_field(1, 31), st.just("L")),
    st.one_of(_field(1, 12), st.sampled_from(["jan-jun", "mar,sep", "dec"])),
    st.one_of(_field(0, 6), st.sampled_from(["mon-fri", "sat,sun", "5L"])),
).map(" ".join)
start_times = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1)).map(
    lambda moment: moment.replace(tzinfo=UTC)
)
fixed_zones = st.sampled_from(["UTC", "+05:30", "GMT -05:00", "+0100"])


def croniter_times(expression: str, tz: timezone, start: datetime, end: datetime) -> list[datetime]:
    cursor = croniter(expression.replace("5L", "L5"), start.astimezone(tz))
    result = []
    while (moment := cursor.get_next(datetime).astimezone(UTC)) < end:
        result.append(moment)
    return result


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expression=cron_expressions, start=start_times, zone=fixed_zones)
def test_a_week_of_fire_times_matches_croniter(expression: str, start: datetime, zone: str) -> None:
    try:
        schedule = parse_schedule(expression, timezone=zone)
    except InvalidScheduleError:
        assume(False)
        raise
    end = start + timedelta(days=7)
    ours = list(takewhile(lambda moment: moment < end, iter_fire_times(schedule, start)))
    assert ours == croniter_times(expression, schedule.tz, start, end)  # type: ignore[union-attr,arg-type]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    expression=st.tuples(
        st.integers(0, 59).map(str),
        _field(0, 23),
        st.one_of(_field(1, 31), st.just("L")),
        _field(1, 12),
        st.one_of(_field(0, 6), st.just("mon-fri")),
    ).map(" ".join),
    start=start_times,
    zone=fixed_zones,
)
def test_the_runner_on_a_virtual_clock_fires_croniters_sequence_for_a_week(
    expression: str, start: datetime, zone: str
) -> None:
    import asyncio

    import tomodachi
    from tomodachi.handlers import specs_of
    from tomodachi.runtime.environment import Environment
    from tomodachi.runtime.transport import BoundHandler, TransportContext
    from tomodachi.testing.clock import VirtualClock
    from tomodachi.transport.schedule.transport import create_transport

    try:
        schedule = parse_schedule(expression, timezone=zone)
    except InvalidScheduleError:
        assume(False)
        raise
    fired: list[datetime] = []

    class Service(tomodachi.Service):
        @tomodachi.schedule(interval=expression, timezone=zone)
        async def job(self, invocation_time: str) -> None:
            fired.append(datetime.strptime(invocation_time, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC))

    async def run_a_week() -> None:
        clock = VirtualClock(start)
        service = Service()
        handler = BoundHandler("job", service.job, specs_of(Service.job)[0])
        transport = create_transport(TransportContext(service, None, Environment(clock=clock), (handler,)))  # type: ignore[arg-type]
        await transport.setup()
        await transport.start()
        await clock.advance(timedelta(days=7))
        await transport.stop(0)

    asyncio.run(run_a_week())
    end = start + timedelta(days=7)
    # a fire time exactly at the end of the advance runs too
    expected = croniter_times(expression, schedule.tz, start, end + timedelta(seconds=1))  # type: ignore[union-attr,arg-type]
    assert fired == expected
