"""Hot-path benchmark: the same routes as a bare aiohttp app, the raw-library baseline."""

from __future__ import annotations

import asyncio
import logging
import os

import aiohttp
from aiohttp import web
from aiohttp.typedefs import Handler


async def hello(request: web.Request) -> web.Response:
    return web.Response(text="Hello, world!")


async def json_(request: web.Request) -> web.Response:
    return web.json_response({"message": "Hello, world!", "id": 4711, "ok": True})


async def echo(request: web.Request) -> web.Response:
    return web.Response(body=await request.read(), content_type="application/json")


async def version(request: web.Request) -> web.Response:
    loop = type(asyncio.get_running_loop()).__module__
    return web.json_response({"aiohttp": aiohttp.__version__, "loop": loop})


@web.middleware
async def close_connection(request: web.Request, handler: Handler) -> web.StreamResponse:
    response = await handler(request)
    response.force_close()  # "Connection: close" and close, as both tomodachi builds do without keep-alive
    return response


def main() -> None:
    keepalive = os.environ.get("BENCH_KEEPALIVE", "0") != "0"
    app = web.Application(middlewares=[] if keepalive else [close_connection])
    app.router.add_get("/hello", hello)
    app.router.add_get("/json", json_)
    app.router.add_post("/echo", echo)
    app.router.add_get("/version", version)
    access_log = os.environ.get("BENCH_ACCESS_LOG", "1") == "1"
    if access_log:  # aiohttp's access logger only writes when logging is configured
        logging.basicConfig(level=logging.INFO)
    loop = asyncio.new_event_loop()
    if os.environ.get("BENCH_LOOP") == "uvloop":
        import uvloop

        loop = uvloop.new_event_loop()
    asyncio.set_event_loop(loop)
    web.run_app(
        app,
        host="127.0.0.1",
        port=int(os.environ["BENCH_PORT"]),
        access_log=logging.getLogger("aiohttp.access") if access_log else None,
        print=None,
        loop=loop,
    )


if __name__ == "__main__":
    main()
