"""Routing: regex routes, injected groups, anchoring, HEAD, 404/405 and their http_error handlers."""

from __future__ import annotations

import json
from typing import Any

import pytest

import tomodachi
from tomodachi.transport.http.routing import RouteError


class Routes:
    name = "routes"

    @tomodachi.http("GET", r"/items/(?P<item_id>[0-9]+)/?")
    async def item(self, request: Any, item_id: str) -> str:
        return f"item {item_id}"

    @tomodachi.http("GET", r"^/optional(?:/(?P<page>[a-z]+))?$")
    async def optional(self, request: Any, page: str | None) -> str:
        return f"page={page!r}"

    @tomodachi.http("GET", r"/defaulted(?:/(?P<page>[a-z]+))?")
    async def defaulted(self, request: Any, page: str = "home") -> str:
        return f"page={page}"

    @tomodachi.http(["POST", "put"], r"/multi")
    async def multi(self, request: Any) -> str:
        return request.method

    @tomodachi.http("GET", r"/exact")
    async def exact(self, req: Any) -> str:
        return f"positional request: {req.path}"

    @tomodachi.http("GET", r"/a|/b")
    async def alternation(self, request: Any) -> str:
        return "alt"

    @tomodachi.http("GET", r"/first/.*")
    async def first(self) -> str:
        return "first"

    @tomodachi.http("GET", r"/first/second")
    async def second(self) -> str:
        return "second"

    @tomodachi.http("GET", r"/groups-not-via-kwargs/(?P<secret>[a-z]+)")
    async def kwargs_only(self, **kwargs: Any) -> str:
        return ",".join(sorted(kwargs))


async def test_named_groups_are_injected_and_optional_trailing_slash(serve: Any) -> None:
    async with serve(Routes) as served:
        for path in ("/items/42", "/items/42/"):
            async with served.client.get(path) as response:
                assert response.status == 200
                assert await response.text() == "item 42"
        async with served.client.get("/items/abc") as response:
            assert response.status == 404


async def test_optional_group_not_participating_gives_none_or_default(serve: Any) -> None:
    async with serve(Routes) as served:
        async with served.client.get("/optional") as response:
            assert (response.status, await response.text()) == (200, "page=None")
        async with served.client.get("/optional/news") as response:
            assert await response.text() == "page='news'"
        async with served.client.get("/defaulted") as response:
            assert await response.text() == "page=home"
        async with served.client.get("/defaulted/x") as response:
            assert await response.text() == "page=x"


async def test_routes_match_the_whole_path(serve: Any) -> None:
    async with serve(Routes) as served:
        for path in ("/exact/", "/exactly", "/prefix/exact"):
            async with served.client.get(path) as response:
                assert response.status == 404, path
        async with served.client.get("/exact") as response:
            assert await response.text() == "positional request: /exact"
        for path in ("/a", "/b"):
            async with served.client.get(path) as response:
                assert await response.text() == "alt"
        async with served.client.get("/abc") as response:
            assert response.status == 404


async def test_methods_head_and_405(serve: Any) -> None:
    async with serve(Routes) as served:
        async with served.client.post("/multi") as response:
            assert await response.text() == "POST"
        async with served.client.put("/multi") as response:
            assert await response.text() == "PUT"
        async with served.client.get("/multi") as response:
            assert response.status == 405
            assert set(response.headers["Allow"].split(",")) == {"POST", "PUT"}
        async with served.client.head("/items/1") as response:
            assert response.status == 200
            assert response.headers["Content-Length"] == str(len("item 1"))
            assert await response.read() == b""


async def test_routes_are_tried_in_source_order(serve: Any) -> None:
    async with serve(Routes) as served:
        async with served.client.get("/first/second") as response:
            assert await response.text() == "first"


async def test_groups_never_reach_var_keyword(serve: Any) -> None:
    async with serve(Routes) as served:
        async with served.client.get("/groups-not-via-kwargs/abc") as response:
            assert await response.text() == "request"


class WithErrorHandlers:
    @tomodachi.http("GET", r"/only-get")
    async def only_get(self) -> str:
        return "ok"

    @tomodachi.http_error(status_code=404)
    async def not_found(self, request: Any, status_code: int) -> tuple[int, str]:
        return 404, f"nothing at {request.path} ({status_code})"

    @tomodachi.http_error(405)
    async def not_allowed(self) -> dict[str, Any]:
        return {"body": "wrong method", "headers": {"X-Handled": "yes"}}


async def test_404_and_405_go_to_http_error_handlers(serve: Any) -> None:
    async with serve(WithErrorHandlers) as served:
        async with served.client.get("/missing") as response:
            assert (response.status, await response.text()) == (404, "nothing at /missing (404)")
        async with served.client.delete("/only-get") as response:
            assert response.status == 405  # error handlers default to the handled status
            assert await response.text() == "wrong method"
            assert response.headers["X-Handled"] == "yes"


def test_invalid_regex_is_reported_at_class_definition_naming_the_function() -> None:
    with pytest.raises(RouteError, match=r"broken_route.*invalid url regex"):

        class Broken:
            @tomodachi.http("GET", r"/broken/(?P<id[0-9]+)")
            async def broken_route(self) -> None: ...


def test_bad_decorator_arguments_are_rejected() -> None:
    with pytest.raises(RouteError, match="method"):
        tomodachi.http([], r"/")(lambda: None)
    with pytest.raises(RouteError, match="ignore_logging"):
        tomodachi.http("GET", r"/", ignore_logging="yes")(lambda: None)  # type: ignore[arg-type]
    with pytest.raises(RouteError, match="status_code"):
        tomodachi.http_error("404")(lambda: None)  # type: ignore[arg-type]


class Duplicates:
    @tomodachi.http("GET", r"/same")
    async def one(self) -> str:
        return "1"

    @tomodachi.http(["POST", "GET"], r"^/same$")
    async def two(self) -> str:
        return "2"


async def test_duplicate_routes_fail_setup_naming_both_functions(serve: Any) -> None:
    with pytest.raises(RouteError, match=r"duplicate http route GET '/same'.*'one'.*'two'"):
        async with serve(Duplicates):
            pass


def test_decorated_methods_stay_directly_callable() -> None:
    import asyncio

    assert asyncio.run(Routes().item(None, "7")) == "item 7"


def test_importing_tomodachi_and_decorating_does_not_import_aiohttp() -> None:
    import subprocess
    import sys

    code = (
        "import sys, tomodachi\n"
        "class S:\n"
        "    @tomodachi.http('GET', r'/')\n"
        "    async def h(self): ...\n"
        "    @tomodachi.websocket(r'/ws')\n"
        "    async def w(self): ...\n"
        "r = tomodachi.HttpResponse(body='x'); e = tomodachi.HttpException('x')\n"
        "assert 'aiohttp' not in sys.modules, 'aiohttp imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


class MatchInfo:
    @tomodachi.http("GET", r"/items/(?P<id>[0-9]+)(?:/(?P<part>[a-z]+))?")
    async def item(self, request: Any) -> dict[str, Any]:
        return {"body": json.dumps(dict(request.match_info)), "content_type": "application/json"}


async def test_request_match_info_holds_the_named_groups_that_matched(serve: Any) -> None:
    async with serve(MatchInfo) as served:
        async with served.client.get("/items/7/parts") as response:
            assert await response.json() == {"id": "7", "part": "parts"}
        async with served.client.get("/items/8") as response:
            assert await response.json() == {"id": "8"}
