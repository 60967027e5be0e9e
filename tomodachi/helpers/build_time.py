"""How long ago a release was built, in words ("released 3 hours ago"), from two ISO 8601 UTC timestamps."""

from __future__ import annotations

from datetime import datetime, timezone

_FORMAT = "%Y-%m-%dT%H:%M:%S.%f%z"


def _plural(count: int, unit: str) -> str:
    return f"{count} {unit}{'s' if count > 1 else ''}"


def _words(seconds_in_day: int, days: int) -> str:
    if days >= 720:  # from two years on only whole years are worth saying, and never "over 1 year"
        return f"released over {_plural(max(2, days // 365), 'year')} ago"
    if days >= 90:
        return f"released {_plural(days // 30, 'month')} ago"
    if days > 0:
        return f"released {_plural(days, 'day')} ago"
    if seconds_in_day >= 3600:
        return f"released {_plural(seconds_in_day // 3600, 'hour')} ago"
    if seconds_in_day >= 60:
        return f"released {_plural(seconds_in_day // 60, 'minute')} ago"
    return "released just now"


def get_time_since_build(timestamp: str | None = None, build_time: str | None = None) -> str:
    """``timestamp`` (default: now) minus ``build_time`` (default: this package's build time) in words;
    ``""`` when there is no build time or a timestamp cannot be read."""
    if not build_time:
        from tomodachi.__version__ import __build_time__

        build_time = __build_time__ or ""
    if not build_time:
        return ""
    try:
        built = datetime.strptime(build_time, _FORMAT)
        now = datetime.strptime(timestamp, _FORMAT) if timestamp else datetime.now(timezone.utc)
    except ValueError:
        return ""
    elapsed = now - built
    return _words(elapsed.seconds, elapsed.days)
