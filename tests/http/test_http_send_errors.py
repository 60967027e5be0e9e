"""A response that fails while being sent is handled by the framework: logged once, a 500 where possible."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

import tomodachi


async def _breaks_midway() -> AsyncIterator[bytes]:
    yield b"first part;"
    raise RuntimeError("the body's source broke")


class Sender(tomodachi.Service):
    name = "sender"

    @tomodachi.http("GET", r"/bad-header")
    async def bad_header(self, request: web.Request) -> web.Response:
        # aiohttp refuses to serialise a header with a line break only when the response is sent
        return web.Response(text="never", headers={"X-Injected": "a\r\nSet-Cookie: evil=1"})

    @tomodachi.http("GET", r"/broken-stream")
    async def broken_stream(self, request: web.Request) -> web.Response:
        return web.Response(body=_breaks_midway())

    @tomodachi.http("GET", r"/fine")
    async def fine(self, request: web.Request) -> str:
        return "fine"


def _aiohttp_unhandled(caplog: Any) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name.startswith("aiohttp") and r.levelno >= logging.ERROR]


async def test_a_header_that_cannot_be_sent_gives_a_500_and_one_logged_error(serve: Any, caplog: Any) -> None:
    caplog.set_level(logging.INFO)
    async with serve(Sender) as served:
        async with served.client.get("/bad-header") as response:
            assert response.status == 500
            assert "Set-Cookie" not in response.headers
            assert await response.read() == b""
        async with served.client.get("/fine") as response:  # the server is unharmed
            assert await response.text() == "fine"
        assert [where for where, _ in served.errors] == ["sender.bad_header"]
    assert _aiohttp_unhandled(caplog) == []
    assert any("while sending response" in r.getMessage() for r in caplog.records)


async def test_a_body_failing_after_the_headers_closes_the_connection_without_escaping(serve: Any, caplog: Any) -> None:
    caplog.set_level(logging.INFO)
    async with serve(Sender) as served:
        reader, writer = await asyncio.open_connection(*served.address)
        try:
            writer.write(b"GET /broken-stream HTTP/1.1\r\nHost: x\r\n\r\n")
            data = await asyncio.wait_for(reader.read(), 5.0)  # ends: the server closed the connection
        finally:
            writer.close()
        assert [where for where, exc in served.errors] == ["sender.broken_stream"]
        assert isinstance(served.errors[0][1], RuntimeError)
    assert data.startswith(b"HTTP/1.1 200 OK\r\n")
    assert not data.endswith(b"0\r\n\r\n")  # the chunked body was never terminated: the client sees it broken
    assert _aiohttp_unhandled(caplog) == []


@pytest.mark.parametrize("path", ["/bad-header", "/broken-stream"])
async def test_the_access_log_records_a_failed_send_as_500(serve: Any, caplog: Any, path: str) -> None:
    caplog.set_level(logging.INFO, logger="tomodachi.http.response")
    async with serve(Sender, access_log=True) as served:
        reader, writer = await asyncio.open_connection(*served.address)
        try:
            writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
            await asyncio.wait_for(reader.read(), 5.0)
        finally:
            writer.close()
    lines = [r for r in caplog.records if r.name == "tomodachi.http.response"]
    assert lines and all("status_code=500 " in r.getMessage() for r in lines)
