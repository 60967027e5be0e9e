"""A request is a unit of work: its response waits for the confirms of what its handler published."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

import tomodachi
from tomodachi.messaging.publish_scope import PublishScope, current_scope

WITHIN = 5.0


class Publisher(tomodachi.Service):
    """Its handlers "publish" as a confirming broker does: tracked in the request's scope, confirmed later."""

    name = "publisher"

    def __init__(self) -> None:
        self.scopes: asyncio.Queue[PublishScope] = asyncio.Queue()

    def _publish(self) -> None:
        scope = current_scope()
        assert scope is not None, "an HTTP handler runs inside a publish scope"
        scope.track()
        self.scopes.put_nowait(scope)

    @tomodachi.http("POST", r"/orders")
    async def create(self, request: web.Request) -> str:
        self._publish()
        return "created"

    @tomodachi.http("POST", r"/redirect")
    async def redirect(self, request: web.Request) -> str:
        self._publish()
        raise web.HTTPSeeOther("/orders")

    @tomodachi.http("GET", r"/plain")
    async def plain(self, request: web.Request) -> str:
        return "plain"


async def test_the_response_waits_for_the_confirm_of_what_the_handler_published(serve: Any) -> None:
    service = Publisher()
    async with serve(service) as served:
        responding = asyncio.ensure_future(served.client.post("/orders"))
        scope = await asyncio.wait_for(service.scopes.get(), WITHIN)
        done, _ = await asyncio.wait([responding], timeout=0.2)
        assert not done, "answered before the publish was confirmed"
        scope.resolve()
        response = await asyncio.wait_for(responding, WITHIN)
        assert (response.status, await response.text()) == (200, "created")


async def test_a_publish_that_is_never_confirmed_makes_the_request_fail(serve: Any) -> None:
    service = Publisher()
    async with serve(service) as served:
        responding = asyncio.ensure_future(served.client.post("/orders"))
        scope = await asyncio.wait_for(service.scopes.get(), WITHIN)
        scope.resolve(RuntimeError("nacked by the broker"))
        response = await asyncio.wait_for(responding, WITHIN)
        assert response.status == 500
        assert [where for where, _ in served.errors] == ["publisher.create"]


async def test_an_http_exception_is_the_response_once_its_publishes_are_confirmed(serve: Any) -> None:
    service = Publisher()
    async with serve(service) as served:
        responding = asyncio.ensure_future(served.client.post("/redirect", allow_redirects=False))
        scope = await asyncio.wait_for(service.scopes.get(), WITHIN)
        scope.resolve()
        response = await asyncio.wait_for(responding, WITHIN)
        assert response.status == 303


async def test_a_handler_that_publishes_nothing_answers_at_once(serve: Any) -> None:
    async with serve(Publisher) as served:
        async with served.client.get("/plain") as response:
            assert await response.text() == "plain"
