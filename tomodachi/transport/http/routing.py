"""Route table: url regexes compiled from handler specs, matched on the request path, with 404/405 outcomes."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
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


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: BoundHandler
    order: int

    @property
    def kind(self) -> str:
        return self.handler.spec.kind


@dataclass
class Match:
    route: Route | None
    groups: dict[str, str | None] = field(default_factory=dict)
    allowed: tuple[str, ...] = ()  # set when the path matched but the method did not (→ 405)


class Router:
    """Routes in handler source order; the first whose regex fully matches the path and whose method fits wins."""

    def __init__(self, routes: Iterable[Route]) -> None:
        self.routes = sorted(routes, key=lambda r: r.order)
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
