"""Scheduler decorators: ``schedule`` / ``scheduler`` and the shortcuts ``heartbeat``, ``minutely`` … ``monthly``.

They validate their arguments when applied (an error names the function) and attach a HandlerSpec.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import tzinfo
from typing import Any, Protocol, TypeVar, overload

from tomodachi.handlers import HandlerSpec, attach_spec, suggest_on_typo
from tomodachi.transport.schedule.parse import InvalidScheduleError, parse_schedule

F = TypeVar("F", bound=Callable[..., Any])

__all__ = [
    "InvalidScheduleError",
    "daily",
    "every_second",
    "heartbeat",
    "hourly",
    "minutely",
    "monthly",
    "schedule",
    "scheduler",
]


def function_name(func: object) -> str:
    return str(getattr(func, "__qualname__", None) or getattr(func, "__name__", None) or repr(func))


@suggest_on_typo
def schedule(
    interval: int | float | str | None = None,
    timestamp: str | None = None,
    timezone: str | tzinfo | None = None,
    immediately: bool = False,
) -> Callable[[F], F]:
    """Run the decorated service method on a schedule.

    ``interval``: seconds (int), ``"5s"``/``"every 5 minutes"``, an alias (``"minutely"``, ``"every day"``,
    ``"mondays"`` …) or a cron expression (5 fields, optional 6th year field, ``@daily`` …). ``timestamp``:
    ``"HH:MM[:SS]"`` daily or ``"YYYY-MM-DD HH:MM[:SS]"`` once. ``timezone``: IANA name or UTC offset
    (default: local zone). ``immediately``: also run once when the service has started.
    """
    if callable(interval) and not isinstance(interval, (int, float, str)):
        raise TypeError(
            f"@schedule needs an interval or a timestamp, e.g. @tomodachi.schedule(interval=60) "
            f"(it was applied bare to {function_name(interval)})"
        )
    if not isinstance(immediately, bool):
        raise TypeError(f"immediately must be True or False, not {immediately!r}")

    def decorate(func: F) -> F:
        try:
            parse_schedule(interval, timestamp, timezone)
        except InvalidScheduleError as exc:
            raise InvalidScheduleError(
                f"invalid schedule for scheduled function {function_name(func)}: {exc}"
            ) from None
        args = {"interval": interval, "timestamp": timestamp, "timezone": timezone, "immediately": immediately}
        return attach_spec(func, HandlerSpec(transport="schedule", kind="schedule", args=args))

    return decorate


scheduler = schedule


class ScheduleShortcut(Protocol):
    """A schedule decorator usable bare (``@minutely``) or called (``@minutely(immediately=True)``)."""

    @overload
    def __call__(self, func: F, /) -> F: ...

    @overload
    def __call__(self, *, immediately: bool = False, timezone: str | tzinfo | None = None) -> Callable[[F], F]: ...


def _shortcut(name: str, interval: int | str) -> ScheduleShortcut:
    @overload
    def shortcut(func: F, /) -> F: ...

    @overload
    def shortcut(*, immediately: bool = False, timezone: str | tzinfo | None = None) -> Callable[[F], F]: ...

    def shortcut(
        func: F | None = None, /, *, immediately: bool = False, timezone: str | tzinfo | None = None
    ) -> F | Callable[[F], F]:
        decorator = schedule(interval=interval, timezone=timezone, immediately=immediately)
        return decorator if func is None else decorator(func)

    shortcut.__name__ = shortcut.__qualname__ = name
    shortcut.__doc__ = f"Run the decorated method with ``interval={interval!r}``; usable bare or called."
    return shortcut


heartbeat = _shortcut("heartbeat", 1)
every_second = _shortcut("every_second", 1)
minutely = _shortcut("minutely", "minutely")
hourly = _shortcut("hourly", "hourly")
daily = _shortcut("daily", "daily")
monthly = _shortcut("monthly", "monthly")
