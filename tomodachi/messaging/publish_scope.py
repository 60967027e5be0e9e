"""The publishes of one unit of work (a delivery, a scheduled run, a request) still awaiting their bus's confirm."""

from __future__ import annotations

import asyncio
from contextvars import ContextVar, Token
from types import TracebackType


class UnconfirmedPublishError(Exception):
    """A publish made during the unit of work was not confirmed by the bus (refused, or lost and not re-published
    in time): the unit of work must count as failed. ``errors`` holds what the brokers reported."""

    def __init__(self, errors: list[BaseException]) -> None:
        first = errors[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(f"publish not confirmed: {first}{more}")
        self.errors = errors


class PublishScope:
    """Counts the publishes a broker registered during one unit of work until each is confirmed or has failed.

    Brokers call :meth:`track` when a publish starts waiting for its confirm and :meth:`resolve` once it is
    settled; every tracked publish is resolved eventually (brokers give up after their publish timeout)."""

    # a fresh scope's state, as class attributes: a scope is opened per delivery, and most see no publish at all
    pending: int = 0
    errors: list[BaseException] | None = None
    closed: bool = False
    _waiter: asyncio.Future[None] | None = None
    _token: Token[PublishScope | None] | None = None  # set by open_scope(): what closing resets

    def track(self) -> None:
        self.pending += 1

    def resolve(self, error: BaseException | None = None) -> None:
        self.pending -= 1
        if error is not None:
            if self.errors is None:
                self.errors = []
            self.errors.append(error)
        waiter = self._waiter
        if waiter is not None and not waiter.done() and (self.pending <= 0 or error is not None):
            waiter.set_result(None)

    async def wait(self) -> None:
        """Until every tracked publish is confirmed; raises UnconfirmedPublishError at the first failure."""
        while self.errors is None and self.pending > 0:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        if self.errors is not None:
            raise UnconfirmedPublishError(list(self.errors))

    def close(self) -> bool:
        """Stop collecting; True when publishes are still unconfirmed or one failed (then :meth:`wait`)."""
        if not self.closed:
            self.closed = True
            token = self._token
            if token is not None:
                try:
                    _current.reset(token)
                except ValueError:  # closed from another context than it was opened in: leave that context alone
                    pass
        return self.pending > 0 or self.errors is not None


_current: ContextVar[PublishScope | None] = ContextVar("tomodachi.publish_scope", default=None)


def current_scope() -> PublishScope | None:
    """The open scope of the running unit of work (brokers register their unconfirmed publishes in it)."""
    scope = _current.get()
    return scope if scope is not None and not scope.closed else None


def open_scope() -> PublishScope:
    """Start collecting the unconfirmed publishes of the current context (a task and the tasks it creates)."""
    scope = PublishScope()
    scope._token = _current.set(scope)
    return scope


async def settle_scope(scope: PublishScope) -> None:
    """End the scope: wait until its publishes are confirmed (no cost when none is pending). Raises
    UnconfirmedPublishError when one failed — the unit of work then counts as failed."""
    if scope.close():
        await scope.wait()


def discard_scope(scope: PublishScope) -> None:
    """End the scope without waiting (the unit of work failed anyway); its publishes are still confirmed, and
    re-published or logged as lost by their broker. Does nothing after :func:`settle_scope`."""
    scope.close()


class publish_scope:  # noqa: N801 - used like a function: ``async with publish_scope():``
    """``async with publish_scope():`` — settle on a normal exit, discard when the body raises."""

    __slots__ = ("_scope",)

    def __init__(self) -> None:
        self._scope: PublishScope | None = None

    async def __aenter__(self) -> PublishScope:
        self._scope = open_scope()
        return self._scope

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        scope, self._scope = self._scope, None
        if scope is None:
            return
        if exc_type is None:
            await settle_scope(scope)
        else:
            discard_scope(scope)


__all__ = [
    "PublishScope",
    "UnconfirmedPublishError",
    "current_scope",
    "discard_scope",
    "open_scope",
    "publish_scope",
    "settle_scope",
]
