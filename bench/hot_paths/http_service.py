"""Hot-path benchmark: tomodachi HTTP service (ours and upstream 0.29.0 run this same file)."""

from __future__ import annotations

import asyncio
import os
from typing import Any

from aiohttp import web

import tomodachi


def http_options() -> Any:
    """``BENCH_KEEPALIVE`` / ``BENCH_ACCESS_LOG``: unset = the framework's default, else seconds / 0 or 1."""
    extra: dict[str, Any] = {}
    if "BENCH_KEEPALIVE" in os.environ:
        extra["keepalive_timeout"] = int(os.environ["BENCH_KEEPALIVE"])
    if "BENCH_ACCESS_LOG" in os.environ:
        extra["access_log"] = os.environ["BENCH_ACCESS_LOG"] == "1"
    return tomodachi.Options.HTTP(host="127.0.0.1", port=int(os.environ["BENCH_PORT"]), **extra)


class HttpBench(tomodachi.Service):
    name = "bench-hot-http"
    options = tomodachi.Options(http=http_options())

    @tomodachi.http("GET", r"/hello")
    async def hello(self, request: web.Request) -> str:
        return "Hello, world!"

    @tomodachi.http("GET", r"/json")
    async def json(self, request: web.Request) -> web.Response:
        return web.json_response({"message": "Hello, world!", "id": 4711, "ok": True})

    @tomodachi.http("POST", r"/echo")
    async def echo(self, request: web.Request) -> web.Response:
        return web.Response(body=await request.read(), content_type="application/json")

    @tomodachi.http("GET", r"/version")
    async def version(self, request: web.Request) -> web.Response:
        """Which build and event loop serve: the runner checks them before measuring."""
        loop = type(asyncio.get_running_loop()).__module__
        return web.json_response({"tomodachi": tomodachi.__version__, "file": tomodachi.__file__, "loop": loop})
