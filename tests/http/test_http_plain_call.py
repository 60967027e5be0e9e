"""The direct call of a plain route gives each handler signature what the general injection gives it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

import tomodachi
from tomodachi.logging import get_handler_context


async def _later(text: str) -> str:
    return text


class Signatures:
    @tomodachi.http("GET", r"/none")
    async def no_parameters(self) -> str:
        return "none"

    @tomodachi.http("GET", r"/positional")
    async def positional(self, request: web.Request) -> str:
        return f"positional {request.path}"

    @tomodachi.http("GET", r"/other-name")
    async def other_name(self, req: web.Request) -> str:
        return f"other-name {req.path}"

    @tomodachi.http("GET", r"/keyword-only")
    async def keyword_only(self, *, request: web.Request) -> str:
        return f"keyword-only {request.path}"

    @tomodachi.http("GET", r"/var-keyword")
    async def var_keyword(self, **kwargs: Any) -> str:
        return f"var-keyword {sorted(kwargs)} {kwargs['request'].path}"

    @tomodachi.http("GET", r"/sync")
    def sync(self, request: web.Request) -> str:
        return f"sync {request.path}"

    @tomodachi.http("GET", r"/sync-awaitable")
    def sync_awaitable(self, request: web.Request) -> Awaitable[str]:
        return _later(f"sync-awaitable {request.path}")

    @tomodachi.http("GET", r"/context")
    async def context(self) -> dict[str, Any]:
        return {"body": repr(sorted(get_handler_context().items())), "status": 200}

    @tomodachi.http("GET", r"/group/(?P<name>[a-z]+)")
    async def group(self, request: web.Request, name: str) -> str:
        return f"group {name}"


async def test_every_signature_gets_the_request_as_it_declares_it(serve: Any) -> None:
    expected = {
        "/none": "none",
        "/positional": "positional /positional",
        "/other-name": "other-name /other-name",
        "/keyword-only": "keyword-only /keyword-only",
        "/var-keyword": "var-keyword ['request'] /var-keyword",
        "/sync": "sync /sync",
        "/sync-awaitable": "sync-awaitable /sync-awaitable",
        "/group/abc": "group abc",
    }
    async with serve(Signatures) as served:
        for path, body in expected.items():
            async with served.client.get(path) as response:
                assert (response.status, await response.text()) == (200, body), path
        assert served.errors == []


async def test_the_direct_call_is_taken_only_by_routes_without_groups(serve: Any) -> None:
    async with serve(Signatures) as served:
        app = served.transport.app
        assert app is not None
        direct = {route.handler.name for route in app.plain_calls}
        assert "group" not in direct
        assert {"no_parameters", "positional", "keyword_only", "var_keyword", "sync", "context"} <= direct


async def test_a_handler_called_directly_logs_with_its_own_context(serve: Any) -> None:
    async with serve(Signatures) as served:
        async with served.client.get("/context") as response:
            assert await response.text() == repr([("handler", "context"), ("type", "tomodachi.http")])


class WithPreHandler:
    def __init__(self) -> None:
        self.seen: list[str] = []

    @staticmethod
    def _before(service: Any, request: web.Request) -> None:
        service.seen.append(f"pre {request.path}")

    @tomodachi.http("GET", r"/hello", pre_handler_func=_before)
    async def hello(self) -> str:
        return "hello"


async def test_a_pre_handler_func_still_runs_before_the_handler(serve: Any) -> None:
    service = WithPreHandler()
    async with serve(service) as served:
        async with served.client.get("/hello") as response:
            assert await response.text() == "hello"
    assert service.seen == ["pre /hello"]


class WithMiddlewareAddedLater:
    def __init__(self) -> None:
        self.http_middleware: list[Callable[..., Awaitable[object]]] = []

    @tomodachi.http("GET", r"/hello")
    async def hello(self, request: web.Request) -> str:
        return "hello"


async def test_a_middleware_set_after_start_wraps_the_next_request(serve: Any) -> None:
    service = WithMiddlewareAddedLater()
    calls: list[str] = []

    async def middleware(func: Callable[..., Awaitable[object]], service: Any, request: web.Request) -> object:
        calls.append(request.path)
        return await func()

    async with serve(service) as served:
        async with served.client.get("/hello") as response:
            assert await response.text() == "hello"
        service.http_middleware.append(middleware)
        async with served.client.get("/hello") as response:
            assert await response.text() == "hello"
    assert calls == ["/hello"]
