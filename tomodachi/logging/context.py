"""The logging context: the handler call being run (its logger name and fields), and the fields bound per logger name."""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar, Token
from typing import Any

# the logger of ``get_logger()`` without a name, outside any handler (upstream's name for it)
DEFAULT_LOGGER_NAME = "default"


class _HandlerContext:
    """What ``bind_handler_context`` binds. A plain class, not a dataclass: building dataclasses costs startup."""

    __slots__ = ("logger_name", "fields")

    def __init__(self, logger_name: str | None = None, fields: Mapping[str, object] | None = None) -> None:
        self.logger_name = logger_name
        self.fields: Mapping[str, object] = fields if fields is not None else {}


_NO_HANDLER_CONTEXT = _HandlerContext()
_HANDLER_CONTEXT: ContextVar[_HandlerContext] = ContextVar("tomodachi_handler_context", default=_NO_HANDLER_CONTEXT)

# logger name -> the context last bound on a logger of that name; replaced, never changed in place, because an
# asyncio task starts with the same mapping object as the code that created it
_NOTHING_BOUND: Mapping[str, Mapping[str, object]] = {}
_BOUND_BY_NAME: ContextVar[Mapping[str, Mapping[str, object]]] = ContextVar(
    "tomodachi_bound_by_logger_name", default=_NOTHING_BOUND
)


class bind_handler_context:  # noqa: N801 - used like the function it replaced: ``with bind_handler_context(...)``
    """Bind fields (and optionally the logger name) seen by ``get_logger()`` without a name, for the duration
    of a handler call. Nests: inner bindings add to (and override) outer ones.

    Example: ``with bind_handler_context("tomodachi.http.handler", handler="index", type="tomodachi.http"):``

    A class rather than a generator-based context manager: it runs around every handler call.
    """

    __slots__ = ("_logger_name", "_fields", "_token")

    def __init__(self, logger_name: str | None = None, /, **fields: object) -> None:
        self._logger_name = logger_name
        self._fields = fields
        self._token: Token[_HandlerContext] | None = None

    def __enter__(self) -> None:
        current = _HANDLER_CONTEXT.get()
        fields = {**current.fields, **self._fields} if current.fields else self._fields
        self._token = _HANDLER_CONTEXT.set(_HandlerContext(self._logger_name or current.logger_name, fields))

    def __exit__(self, *exc_info: object) -> None:
        if self._token is None:
            return
        try:
            _HANDLER_CONTEXT.reset(self._token)
        except ValueError:  # exited in another context (e.g. a generator finalised elsewhere); nothing to undo
            pass


class HandlerContext:
    """A handler context built once (per route, per handler) and entered per call: ``enter()`` costs one context
    variable write when no outer handler context is bound, which is the case for every request and delivery."""

    __slots__ = ("_bound",)

    def __init__(self, logger_name: str, /, **fields: object) -> None:
        self._bound = _HandlerContext(logger_name, fields)

    def enter(self) -> Token[_HandlerContext]:
        current = _HANDLER_CONTEXT.get()
        if current is _NO_HANDLER_CONTEXT:
            return _HANDLER_CONTEXT.set(self._bound)
        bound = self._bound
        fields = {**current.fields, **bound.fields} if current.fields else bound.fields
        return _HANDLER_CONTEXT.set(_HandlerContext(bound.logger_name or current.logger_name, fields))

    @staticmethod
    def exit(token: Token[_HandlerContext]) -> None:
        try:
            _HANDLER_CONTEXT.reset(token)
        except ValueError:  # exited in another context; nothing to undo there
            pass


def get_handler_context() -> dict[str, Any]:
    """The fields currently bound by ``bind_handler_context`` (a copy)."""
    return dict(_HANDLER_CONTEXT.get().fields)


def remember_bound(logger_name: str, context: Mapping[str, object]) -> None:
    """``context`` is what a logger named ``logger_name`` was just bound to: later ``get_logger(logger_name)``
    calls in this context (the current task and the tasks it starts) begin from it."""
    _BOUND_BY_NAME.set({**_BOUND_BY_NAME.get(), logger_name: dict(context)})


def bound_context(logger_name: str) -> dict[str, Any]:
    """The context last bound on a logger named ``logger_name`` in this context (a copy; empty if none)."""
    context = _BOUND_BY_NAME.get().get(logger_name)
    return dict(context) if context else {}


def reset_context() -> None:
    """Forget every field bound in the current context: the handler context and the fields bound per logger name
    (upstream's name; its test suites call it between tests)."""
    _HANDLER_CONTEXT.set(_NO_HANDLER_CONTEXT)
    _BOUND_BY_NAME.set(_NOTHING_BOUND)
