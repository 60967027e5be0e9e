"""Example HTTP service: regex routes, return conventions, middleware, error handlers and static files.

Run with ``tomodachi run examples/http_service.py`` and try ``curl http://localhost:9700/items/42``.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

import tomodachi


async def request_id_middleware(func: Any, service: Any, request: web.Request, context: dict[str, Any]) -> Any:
    """Outermost middleware: echoes the caller's X-Request-Id on plain-text responses."""
    context["request_id"] = request.headers.get("X-Request-Id")
    result = await func()
    if context["request_id"] and isinstance(result, str):
        return {"body": result, "headers": {"X-Request-Id": context["request_id"]}}
    return result


class ExampleHttpService(tomodachi.Service):
    name = "example-http-service"
    options = tomodachi.Options(http={"port": 9700, "content_type": "text/plain; charset=utf-8"})
    http_middleware = [request_id_middleware]

    @tomodachi.http("GET", r"/")
    async def index(self, request: web.Request) -> str:
        return "hello from tomodachi"

    @tomodachi.http("GET", r"/items/(?P<item_id>[0-9]+)/?")
    async def item(self, request: web.Request, item_id: str) -> dict[str, Any]:
        return {"body": json.dumps({"id": int(item_id)}), "content_type": "application/json"}

    @tomodachi.http("GET", r"/greet(?:/(?P<name>[a-z]+))?")
    async def greet(self, name: str = "stranger") -> str:
        return f"hello {name}"

    @tomodachi.http("POST", r"/echo")
    async def echo(self, request: web.Request) -> tuple[int, bytes, dict[str, str]]:
        return 201, await request.read(), {"X-Echo": "yes"}

    @tomodachi.http("GET", r"/health", ignore_logging=True)
    async def health(self) -> tomodachi.HttpResponse:
        return tomodachi.HttpResponse(body="ok", content_type="text/plain")

    @tomodachi.http("GET", r"/fail")
    async def fail(self) -> str:
        raise RuntimeError("this message is logged, never sent to the client")

    @tomodachi.http_static("static", r"/static/")
    async def static_files(self) -> None:
        """Files below examples/static/ are served at /static/<name>."""

    @tomodachi.http_error(status_code=404)
    async def not_found(self, request: web.Request) -> tuple[int, str]:
        return 404, f"nothing at {request.path}"

    @tomodachi.http_error(status_code=500)
    async def server_error(self) -> tuple[int, str]:
        return 500, "something went wrong"
