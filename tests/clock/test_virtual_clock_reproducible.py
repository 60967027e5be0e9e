"""VirtualClock is reproducible and convenient: a fixed start, per-test overrides, spoken durations, real
duration clocks under a frozen wall clock, and the due times of sleeping futures."""

from __future__ import annotations

import asyncio
import calendar
import time
from datetime import date, datetime, timedelta, timezone
from time import monotonic as imported_monotonic
from typing import Any

import pytest

from tomodachi.testing.clock import DEFAULT_START, VirtualClock

pytest_plugins = ["pytester"]

JUNE = datetime(2025, 6, 1, 12, tzinfo=timezone.utc)
# hypothesis' terminal summary costs seconds per inner run and is irrelevant here
INNER_ARGS = (
    "-p",
    "no:cacheprovider",
    "-p",
    "no:hypothesispytest",
    "-o",
    "asyncio_default_fixture_loop_scope=function",
)


# -- the start instant ---------------------------------------------------------------------------------------


def test_default_start_is_a_fixed_monday() -> None:
    assert DEFAULT_START == datetime(2024, 1, 1, tzinfo=timezone.utc)
    assert DEFAULT_START.weekday() == 0
    assert VirtualClock().now() == DEFAULT_START
    assert VirtualClock().now() == VirtualClock().now()


@pytest.mark.parametrize(
    "start",
    [
        "2025-06-01T12:00:00Z",
        "2025-06-01T12:00:00+00:00",
        "2025-06-01T14:00:00+02:00",
        "2025-06-01T12:00:00",
        datetime(2025, 6, 1, 12),
        JUNE,
    ],
)
def test_start_is_a_datetime_or_an_iso_string_naive_meaning_utc(start: datetime | str) -> None:
    clock = VirtualClock(start)
    assert clock.now() == JUNE
    assert clock.now().utcoffset() == timedelta(0)


def test_unreadable_start_is_rejected_naming_the_accepted_forms() -> None:
    with pytest.raises(ValueError, match="ISO-8601"):
        VirtualClock("next tuesday")
    with pytest.raises(TypeError, match="ISO-8601"):
        VirtualClock(1700000000)  # type: ignore[arg-type]


async def test_fixture_starts_at_default_start_and_wall_clock_reads_it(virtual_clock: VirtualClock) -> None:
    assert virtual_clock.now() == DEFAULT_START
    assert datetime.now(timezone.utc) == DEFAULT_START


@pytest.mark.virtual_clock(start=JUNE)
async def test_marker_with_a_datetime_sets_the_start(virtual_clock: VirtualClock) -> None:
    assert virtual_clock.now() == JUNE
    assert datetime.now(timezone.utc) == JUNE


@pytest.mark.virtual_clock(start="2025-06-01T12:00:00Z")
async def test_marker_with_an_iso_string_sets_the_start(virtual_clock: VirtualClock) -> None:
    assert virtual_clock.now() == JUNE
    assert datetime.now(timezone.utc) == JUNE


class TestVirtualClockStartFixtureOverride:
    @pytest.fixture
    def virtual_clock_start(self) -> str:
        return "2030-03-04T05:06:07Z"

    async def test_overridden_fixture_sets_the_start(self, virtual_clock: VirtualClock) -> None:
        assert virtual_clock.now() == datetime(2030, 3, 4, 5, 6, 7, tzinfo=timezone.utc)

    @pytest.mark.virtual_clock(start=JUNE)
    async def test_marker_wins_over_the_fixture(self, virtual_clock: VirtualClock) -> None:
        assert virtual_clock.now() == JUNE


INNER_CONFTEST = """
import pytest


@pytest.fixture
def virtual_clock_start():
    return "2030-01-01T00:00:00Z"
"""

INNER_TESTS = """
from datetime import datetime, timezone

import pytest


def test_folder_default(virtual_clock):
    assert virtual_clock.now() == datetime(2030, 1, 1, tzinfo=timezone.utc)


@pytest.mark.virtual_clock("2031-01-01")
def test_positional_marker(virtual_clock):
    assert virtual_clock.now() == datetime(2031, 1, 1, tzinfo=timezone.utc)


@pytest.mark.virtual_clock(start="not a date")
def test_unparsable(virtual_clock):
    pass


@pytest.mark.virtual_clock(start=1700000000)
def test_not_a_datetime(virtual_clock):
    pass


@pytest.mark.virtual_clock(begin="2025-01-01")
def test_unknown_argument(virtual_clock):
    pass
"""


def test_conftest_default_and_bad_markers_in_a_user_suite(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(INNER_CONFTEST)
    pytester.makepyfile(test_inner_clock=INNER_TESTS)
    result = pytester.runpytest(*INNER_ARGS, "--strict-markers", "-o", "asyncio_mode=auto")
    result.assert_outcomes(passed=2, errors=3)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at setup of test_unparsable*",
            "*@pytest.mark.virtual_clock(start=...): cannot read 'not a date' as an instant*",
            "*ERROR at setup of test_not_a_datetime*",
            "*@pytest.mark.virtual_clock(start=...): expected a datetime*not int 1700000000*",
            "*ERROR at setup of test_unknown_argument*",
            "*@pytest.mark.virtual_clock takes one argument, start=*; unknown argument begin*",
        ]
    )


# -- what follows virtual time and what stays real -------------------------------------------------------------


async def test_duration_clocks_run_in_real_time_while_the_wall_clock_is_frozen(virtual_clock: VirtualClock) -> None:
    readers = (time.monotonic, time.perf_counter, imported_monotonic)
    ns_readers = (time.monotonic_ns, time.perf_counter_ns)
    before = [read() for read in readers]
    before_ns = [read() for read in ns_readers]
    await asyncio.sleep(0.02)  # real time passing is what is measured here
    await virtual_clock.advance(86400)
    elapsed = [read() - start for read, start in zip(readers, before, strict=True)]
    elapsed += [(read() - start) / 1e9 for read, start in zip(ns_readers, before_ns, strict=True)]
    assert all(0.015 <= seconds < 3600 for seconds in elapsed), elapsed
    assert datetime.now(timezone.utc) == DEFAULT_START + timedelta(days=1)


@pytest.mark.virtual_clock(start="2024-06-15T12:00:00Z")
async def test_wall_clock_reads_follow_virtual_time(virtual_clock: VirtualClock) -> None:
    local_before = calendar.timegm(time.localtime())
    await virtual_clock.advance(timedelta(days=30, seconds=1))
    now = datetime(2024, 7, 15, 12, 0, 1, tzinfo=timezone.utc)
    assert virtual_clock.now() == now
    assert time.time() == now.timestamp()
    assert tuple(time.gmtime())[:6] == (2024, 7, 15, 12, 0, 1)
    assert date.today() == date(2024, 7, 15)
    assert datetime.utcnow() == datetime(2024, 7, 15, 12, 0, 1)
    local_now = calendar.timegm(time.localtime())
    assert local_now - local_before == 30 * 86400 + 1
    assert abs(local_now - now.timestamp()) <= 14 * 3600  # virtual time in some local offset, not real time
    assert time.strftime("%Y-%m-%d %H:%M:%S") == time.strftime("%Y-%m-%d %H:%M:%S", time.localtime())
    assert time.strftime("%Y-%m") == "2024-07"


async def test_unfreeze_leaves_every_clock_real() -> None:
    clock = VirtualClock()
    with clock:
        assert time.time() == DEFAULT_START.timestamp()
    assert time.time() > DEFAULT_START.timestamp() + 86400
    assert datetime.now(timezone.utc) > DEFAULT_START + timedelta(days=1)
    before = (time.monotonic(), imported_monotonic(), time.perf_counter())
    await asyncio.sleep(0.02)  # real time passing is what is measured here
    after = (time.monotonic(), imported_monotonic(), time.perf_counter())
    assert all(later - earlier >= 0.015 for earlier, later in zip(before, after, strict=True))


# -- moving time -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        (30, timedelta(seconds=30)),
        (1.5, timedelta(seconds=1.5)),
        (timedelta(hours=2, minutes=3), timedelta(hours=2, minutes=3)),
        ("1 hour", timedelta(hours=1)),
        ("90 seconds", timedelta(seconds=90)),
        ("2 days", timedelta(days=2)),
        ("1.5 minutes", timedelta(seconds=90)),
        ("1 week", timedelta(weeks=1)),
        ("every 5 minutes", timedelta(minutes=5)),
        ("  3  Hours ", timedelta(hours=3)),
    ],
)
async def test_advance_accepts_seconds_timedeltas_and_spoken_intervals(
    amount: float | timedelta | str, expected: timedelta
) -> None:
    clock = VirtualClock()
    await clock.advance(amount)
    assert clock.now() == DEFAULT_START + expected


async def test_advance_to_accepts_a_datetime_or_an_iso_string() -> None:
    clock = VirtualClock()
    await clock.advance_to("2024-01-01T06:00:00Z")
    assert clock.now() == DEFAULT_START + timedelta(hours=6)
    await clock.advance_to(datetime(2024, 1, 2))
    assert clock.now() == DEFAULT_START + timedelta(days=1)


@pytest.mark.parametrize("amount", [-1, -0.5, timedelta(minutes=-1), "-5 minutes"])
async def test_advance_backwards_is_rejected_with_the_current_time(amount: float | timedelta | str) -> None:
    clock = VirtualClock()
    await clock.advance("1 hour")
    with pytest.raises(ValueError, match=r"cannot go backwards.*2024-01-01T01:00:00\+00:00"):
        await clock.advance(amount)
    assert clock.now() == DEFAULT_START + timedelta(hours=1)


@pytest.mark.parametrize(("amount", "said"), [(-1, "-1 s"), (timedelta(days=-1), "-1 day"), ("-5 minutes", "-5 min")])
async def test_advance_backwards_names_the_amount_as_people_write_it(
    amount: float | timedelta | str, said: str
) -> None:
    with pytest.raises(ValueError, match=f"is a negative amount \\({said}\\)"):
        await VirtualClock().advance(amount)


async def test_advance_to_the_past_is_rejected_with_the_current_time() -> None:
    clock = VirtualClock()
    await clock.advance("1 day")
    with pytest.raises(ValueError, match=r"cannot go backwards.*2024-01-02T00:00:00\+00:00"):
        await clock.advance_to("2024-01-01T12:00:00Z")
    assert clock.now() == DEFAULT_START + timedelta(days=1)


@pytest.mark.parametrize("amount", ["soon", "5 fortnights", "hour", "1 hour and 5 minutes", ""])
async def test_unreadable_duration_is_rejected_naming_the_accepted_forms(amount: str) -> None:
    clock = VirtualClock()
    with pytest.raises(ValueError, match=r"cannot read .* as a duration: expected a timedelta, seconds .*'1 hour'"):
        await clock.advance(amount)
    assert clock.now() == DEFAULT_START


async def test_run_until_idle_limit_accepts_the_same_forms() -> None:
    clock = VirtualClock()
    fired: list[datetime] = []
    for minutes in (30, 90):
        clock.call_later(minutes * 60, lambda: fired.append(clock.now()))
    await clock.run_until_idle(limit="1 hour")
    assert fired == [DEFAULT_START + timedelta(minutes=30)]
    await clock.run_until_idle(limit=timedelta(hours=1))
    assert fired == [DEFAULT_START + timedelta(minutes=30), DEFAULT_START + timedelta(minutes=90)]
    with pytest.raises(ValueError, match="cannot go backwards"):
        await clock.run_until_idle(limit=-1)


# -- due times of what is pending ------------------------------------------------------------------------------


def _awaited(task: asyncio.Task[Any]) -> asyncio.Future[Any]:
    """The future a suspended task is waiting on: asyncio exposes it only as this private attribute."""
    future: asyncio.Future[Any] = task._fut_waiter  # type: ignore[attr-defined]
    return future


async def test_due_of_tells_when_a_sleeping_tasks_future_resolves() -> None:
    clock = VirtualClock()
    sleeper = asyncio.create_task(clock.sleep(90))
    until = asyncio.create_task(clock.sleep_until(JUNE))
    await clock.settle()
    assert clock.due_of(_awaited(sleeper)) == DEFAULT_START + timedelta(seconds=90)
    assert clock.due_of(_awaited(until)) == JUNE
    assert clock.due_of(asyncio.get_running_loop().create_future()) is None
    waited = _awaited(sleeper)
    await clock.advance("2 minutes")
    assert sleeper.done()
    assert clock.due_of(waited) is None
    until.cancel()


async def test_pending_until_is_the_earliest_pending_timer() -> None:
    clock = VirtualClock()
    assert clock.pending_until() is None
    clock.call_later(3600, lambda: None)
    early = clock.call_later(90, lambda: None)
    assert clock.pending_until() == DEFAULT_START + timedelta(seconds=90)
    early.cancel()
    assert clock.pending_until() == DEFAULT_START + timedelta(hours=1)
    assert clock.next_due() == (DEFAULT_START + timedelta(hours=1)).timestamp() * 1_000_000


@pytest.fixture
def stockholm_machine(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The test process runs in Stockholm (UTC+2 in June), as on a developer's laptop there."""
    monkeypatch.setenv("TZ", "Europe/Stockholm")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_local_reads_agree_with_virtual_time_in_utc_whatever_the_machines_zone(stockholm_machine: Any) -> None:
    import os

    from tomodachi.transport.schedule.parse import local_timezone

    with VirtualClock(start=JUNE):  # 12:00 UTC
        now = datetime.now()
        assert now == datetime(2025, 6, 1, 12)
        assert time.localtime()[:6] == (2025, 6, 1, 12, 0, 0)
        assert datetime.fromtimestamp(time.time()) == now
        assert datetime.now().astimezone() == JUNE
        assert local_timezone().utcoffset(now) == timedelta(0)  # schedules without a zone run in UTC too
    assert os.environ["TZ"] == "Europe/Stockholm"
    assert time.localtime(JUNE.timestamp()).tm_hour == 14
