"""Scheduled functions: decorators (api), interval/cron/timestamp parsing (parse), fire times, and the runner.

The decorators are also importable from here (``from tomodachi.transport.schedule import schedule``), as with
upstream's ``tomodachi.transport.schedule`` module.
"""

from __future__ import annotations

from typing import Any

_API_NAMES = frozenset({"schedule", "scheduler", "heartbeat", "every_second", "minutely", "hourly", "daily", "monthly"})


def __getattr__(name: str) -> Any:
    if name in _API_NAMES:
        from tomodachi.transport.schedule import api

        return getattr(api, name)
    raise AttributeError(f"module 'tomodachi.transport.schedule' has no attribute {name!r}")
