"""Example: scheduled functions — a drift-free interval, a cron expression and a daily timestamp in a time zone.

Run with ``tomodachi run examples/scheduler_service.py``; its test drives it through days on a VirtualClock.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import tomodachi

OFFICE = ZoneInfo("Europe/Stockholm")


class SchedulerService(tomodachi.Service):
    name = "example-scheduler"

    def __init__(self) -> None:
        self.cache_refreshes: list[str] = []
        self.office_syncs: list[str] = []
        self.reports: list[str] = []

    @tomodachi.schedule(interval="every 5 minutes", immediately=True)
    async def refresh_cache(self, invocation_time: str) -> None:
        # fire times are start + k * 5 min: a slow refresh never shifts the next one
        self.cache_refreshes.append(invocation_time)

    @tomodachi.schedule(interval="*/15 9-17 * * mon-fri", timezone="Europe/Stockholm")
    async def sync_during_office_hours(self) -> None:
        self.office_syncs.append(datetime.now(OFFICE).strftime("%a %H:%M"))

    @tomodachi.schedule(timestamp="02:30", timezone="Europe/Stockholm")
    async def nightly_report(self) -> None:
        # runs once a day; on the spring-forward night (no 02:30) it runs at 03:00, the end of the gap
        now = datetime.now(OFFICE)
        self.reports.append(f"report {now:%Y-%m-%d} at {now:%H:%M %Z}")
        tomodachi.get_logger().info("nightly report written", day=f"{now:%Y-%m-%d}")
