"""The one aiohttp resource of a service: our router resolves every request, so aiohttp's own routing (and the
exception it builds for every request it cannot route) and its middleware chain are never run."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from aiohttp import web
from aiohttp.web_urldispatcher import AbstractResource, AbstractRoute, ResourceRoute, UrlMappingMatchInfo
from yarl import URL

from tomodachi.transport.http.routing import Match, Router

Dispatch = Callable[[web.Request], Awaitable[web.StreamResponse]]


class RoutedMatchInfo(UrlMappingMatchInfo):
    """``request.match_info``: the url's named groups (those that took part in the match), and our match."""

    __slots__ = ("match",)

    def __init__(self, match: Match, route: ResourceRoute) -> None:
        super().__init__({k: v for k, v in match.groups.items() if v is not None} if match.groups else {}, route)
        self.match = match


class ServiceResource(AbstractResource):
    """Matches every path: which handler (or 404 / 405) is decided by the service's :class:`Router`."""

    def __init__(self, router: Router, dispatch: Dispatch) -> None:
        super().__init__(name=None)
        self._router = router
        self._route = ResourceRoute("*", dispatch, self)

    async def resolve(self, request: web.Request) -> tuple[UrlMappingMatchInfo | None, set[str]]:
        return RoutedMatchInfo(self._router.match(request.method, request.path), self._route), set()

    @property
    def canonical(self) -> str:
        return "/"

    def url_for(self, **kwargs: str) -> URL:
        return URL.build(path="/")

    def add_prefix(self, prefix: str) -> None:
        raise NotImplementedError("a service's routes cannot be mounted under a prefix")

    def get_info(self) -> Any:
        return {"path": "/"}

    def raw_match(self, path: str) -> bool:
        return False

    def __len__(self) -> int:
        return 1

    def __iter__(self) -> Iterator[AbstractRoute]:
        return iter((self._route,))


def routed_match(request: web.BaseRequest) -> Match | None:
    """The match our resource made for this request (None for a request that did not come through it)."""
    info = getattr(request, "_match_info", None)
    return info.match if isinstance(info, RoutedMatchInfo) else None
