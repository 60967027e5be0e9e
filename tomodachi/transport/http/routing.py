"""Route table: url regexes compiled from handler specs, matched on the request path, with 404/405 outcomes."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from tomodachi.handlers import source_line
from tomodachi.runtime.transport import BoundHandler


class RouteError(ValueError):
    """A route cannot be registered (bad regex, duplicate, bad static folder); names the handler."""


def normalize_pattern(url: str) -> str:
    """Strip one leading ``^`` and one unescaped trailing ``$``; the route then has to match the *whole* path."""
    pattern = url[1:] if url.startswith("^") else url
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        pattern = pattern[:-1]
    return pattern


def compile_pattern(url: str, owner: str) -> re.Pattern[str]:
    if not isinstance(url, str):
        raise RouteError(f"{owner}: url must be a regex string, got {type(url).__name__}")
    try:
        return re.compile(normalize_pattern(url))
    except re.error as exc:
        raise RouteError(f"{owner}: invalid url regex {url!r}: {exc}") from None


class Route:
    """One method + url regex → handler. Plain classes here, not dataclasses: building those costs startup time."""

    __slots__ = ("method", "pattern", "handler", "order")

    def __init__(self, method: str, pattern: re.Pattern[str], handler: BoundHandler, order: int) -> None:
        self.method = method
        self.pattern = pattern
        self.handler = handler
        self.order = order

    @property
    def kind(self) -> str:
        return self.handler.spec.kind

    def __repr__(self) -> str:
        return f"Route({self.method!r}, {self.pattern.pattern!r}, order={self.order})"


class Match:
    """The outcome of ``Router.match``."""

    __slots__ = ("route", "groups", "allowed")

    def __init__(
        self, route: Route | None, groups: dict[str, str | None] | None = None, allowed: tuple[str, ...] = ()
    ) -> None:
        self.route = route
        self.groups: dict[str, str | None] = groups if groups is not None else {}
        self.allowed = allowed  # set when the path matched but the method did not (→ 405)


_KNOWN_MATCHES = 1024


class Router:
    """Routes in handler source order; the first whose regex fully matches the path and whose method fits wins."""

    def __init__(self, routes: Iterable[Route]) -> None:
        self.routes = sorted(routes, key=lambda r: r.order)
        self._known: dict[tuple[str, str], Match] = {}
        seen: dict[tuple[str, str], Route] = {}
        for route in self.routes:
            key = (route.method, route.pattern.pattern)
            other = seen.get(key)
            if other is not None and other.handler.name != route.handler.name:
                raise RouteError(
                    f"duplicate http route {route.method} {route.pattern.pattern!r}: "
                    f"{other.handler.name!r} and {route.handler.name!r}"
                )
            seen[key] = route

    def match(self, method: str, path: str) -> Match:
        # a path matched by a route without groups gives the same Match every time: kept, up to a bound, so a
        # hot url costs a dict lookup (a Match is never changed once made)
        known = self._known.get((method, path))
        if known is not None:
            return known
        found = self._match(method, path)
        if found.route is not None and not found.groups:
            if len(self._known) >= _KNOWN_MATCHES:
                self._known.clear()
            self._known[(method, path)] = found
        return found

    def _match(self, method: str, path: str) -> Match:
        allowed: list[str] = []
        for route in self.routes:
            found = route.pattern.fullmatch(path)
            if found is None:
                continue
            if route.method == method:
                return Match(route, found.groupdict())
            if route.method not in allowed:
                allowed.append(route.method)
        return Match(None, allowed=tuple(allowed))


def build_routes(handlers: Iterable[BoundHandler]) -> list[Route]:
    """One route per (handler, method); GET also answers HEAD unless HEAD is declared explicitly elsewhere."""
    routes: list[Route] = []
    for handler in handlers:
        kind = handler.spec.kind
        if kind == "http_error":
            continue
        args: dict[str, Any] = dict(handler.spec.args)
        pattern = compile_pattern(args["url"], handler.name)
        order = source_line(handler.func)
        methods: tuple[str, ...] = tuple(args.get("methods", ("GET",)))
        for method in methods:
            routes.append(Route(method, pattern, handler, order))
    declared = {(r.method, r.pattern.pattern) for r in routes}
    for route in list(routes):
        if route.method == "GET" and ("HEAD", route.pattern.pattern) not in declared:
            routes.append(Route("HEAD", route.pattern, route.handler, route.order))
    return routes
