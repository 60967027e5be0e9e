"""The example services, run through the tomodachi_service fixture (container + harness) over real HTTP."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp

import tomodachi

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


async def test_http_example_service(tomodachi_service: Any) -> None:
    svc = await tomodachi_service(EXAMPLES / "http_service.py")
    http = svc.http
    async with http.get("/") as response:
        assert (response.status, await response.text()) == (200, "hello from tomodachi")
        assert response.headers["Server"] == "tomodachi"
    async with http.get("/items/42/") as response:
        assert response.headers["Content-Type"] == "application/json; charset=utf-8"
        assert await response.json() == {"id": 42}
    async with http.get("/greet") as response:
        assert await response.text() == "hello stranger"
    async with http.get("/greet/ada", headers={"X-Request-Id": "r1"}) as response:
        assert (await response.text(), response.headers["X-Request-Id"]) == ("hello ada", "r1")
    async with http.post("/echo", data=b"ping") as response:
        assert (response.status, await response.read(), response.headers["X-Echo"]) == (201, b"ping", "yes")
    async with http.get("/static/style.css") as response:
        assert "sans-serif" in await response.text()
    async with http.get("/static/../http_service.py") as response:
        assert (response.status, await response.text()) == (404, "nothing at /http_service.py")
    async with http.get("/nowhere") as response:
        assert (response.status, await response.text()) == (404, "nothing at /nowhere")
    async with http.get("/fail") as response:
        assert (response.status, await response.text()) == (500, "something went wrong")
    assert [type(exc) for exc in svc.take_errors()] == [RuntimeError]
    context = tomodachi.get_execution_context()
    assert context["http_enabled"] is True
    assert context["http_total_tasks"] >= 9 and context["http_current_tasks"] == 0
    assert context["aiohttp_version"] == aiohttp.__version__


async def test_websocket_example_service(tomodachi_service: Any) -> None:
    svc = await tomodachi_service(EXAMPLES / "websocket_service.py")
    async with svc.http.get("/") as response:
        assert "new WebSocket" in await response.text()
    async with svc.http.ws_connect("/ws/lobby") as alice, svc.http.ws_connect("/ws/lobby") as bob:
        await alice.send_str("hello")
        assert (await bob.receive(timeout=5)).data == "[lobby] hello"
        assert (await alice.receive(timeout=5)).data == "[lobby] hello"
        await bob.send_bytes(b"\x01\x02")
        assert (await alice.receive(timeout=5)).data == "[lobby] <2 bytes>"
    members = svc.instance.rooms["lobby"]
    await svc.stop()  # graceful stop awaits the websocket sessions, whose close callbacks have then run
    assert members == set()
