"""The shortcut for a plain route: an ``@http`` handler without url groups or ``pre_handler_func`` gets the request
by a call shape worked out once, at start, instead of per request."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable

from tomodachi.handlers import handler_parameters
from tomodachi.logging.context import HandlerContext
from tomodachi.transport.http.injection import InjectionError, call_arguments
from tomodachi.transport.http.routing import Route


class PlainCall:
    """Calls the route's handler with the request as its signature asks: ``positional`` times by position, and
    by keyword under each of ``keywords`` (the same object each time, as the general injection would give)."""

    __slots__ = ("func", "positional", "keywords", "context", "returns_awaitable", "call")

    def __init__(self, func: Callable[..., object], positional: int, keywords: tuple[str, ...], name: str) -> None:
        self.func = func
        self.positional = positional
        self.keywords = keywords
        # logs inside the handler (``get_logger()`` without a name) carry the handler's name and kind
        self.context = HandlerContext("tomodachi.http.handler", handler=name, type="tomodachi.http")
        # an ``async def`` handler: its result is awaited without asking; anything else is asked per call
        self.returns_awaitable = inspect.iscoroutinefunction(func)
        # ``handler(request)``, the usual signature, is the handler itself: no call in between
        self.call: Callable[[object], object] = func if positional == 1 and not keywords else self._spread

    def awaitable_call(self, request: object) -> Callable[[], Awaitable[object]]:
        """The call as a middleware's ``next``: ``await next()`` calls the handler and gives its result."""
        if self.returns_awaitable:
            return functools.partial(self.call, request)  # type: ignore[return-value]  # its call is a coroutine
        return functools.partial(self._awaited, request)

    async def _awaited(self, request: object) -> object:
        value = self.call(request)
        return await value if inspect.isawaitable(value) else value

    def _spread(self, request: object) -> object:
        return self.func(*(request,) * self.positional, **dict.fromkeys(self.keywords, request))


def plain_call(route: Route) -> PlainCall | None:
    """The shortcut for ``route``, or None when its requests need the general path (url groups to inject, a
    ``pre_handler_func``, a websocket or static route, a signature the request alone cannot fill)."""
    handler = route.handler
    spec = handler.spec
    if spec.kind != "http" or route.pattern.groupindex or spec.args.get("pre_handler_func") is not None:
        return None
    request = object()  # stands for every request: the shape depends on the signature, never on the value
    try:
        args, kwargs = call_arguments(handler.func, groups={}, named={"request": request}, positional=(request,))
    except (InjectionError, ValueError, TypeError):
        return None  # the general path reports it, per request, as it always has
    if any(value is not request for value in (*args, *kwargs.values())):
        return None
    parameters = handler_parameters(handler.func)
    if len(parameters) == 1 and parameters[0].kind in _BY_POSITION and (args or kwargs):
        return PlainCall(handler.func, 1, (), handler.name)  # ``(self, request)``: by position is the same call
    return PlainCall(handler.func, len(args), tuple(kwargs), handler.name)


_BY_POSITION = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
