"""Slow or silent clients cannot hold connections: header deadline, body read timeout, and their defaults."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from aiohttp import web

import tomodachi
from tomodachi.options import Options
from tomodachi.transport.http.settings import HttpSettings

# generous bounds on real time: each test expects the server to act within its (short) configured timeout
CLOSE_WITHIN = 5.0


class Uploads(tomodachi.Service):
    name = "uploads"

    @tomodachi.http("POST", r"/upload")
    async def upload(self, request: web.Request) -> str:
        body = await request.read()
        return f"{len(body)} bytes"

    @tomodachi.http("GET", r"/hello")
    async def hello(self, request: web.Request) -> str:
        return "hello"


async def _read_until_closed(reader: asyncio.StreamReader) -> tuple[bytes, float]:
    """Everything the server sends until it closes the connection, and how long that took."""
    started = time.monotonic()
    data = await asyncio.wait_for(reader.read(), CLOSE_WITHIN)
    return data, time.monotonic() - started


async def test_idle_connection_without_a_request_gets_408_and_is_closed(serve: Any) -> None:
    async with serve(Uploads, header_timeout=0.3) as served:
        reader, writer = await asyncio.open_connection(*served.address)
        try:
            data, elapsed = await _read_until_closed(reader)
        finally:
            writer.close()
    assert data.startswith(b"HTTP/1.1 408 Request Timeout\r\n")
    assert elapsed < CLOSE_WITHIN


async def test_headers_trickled_byte_by_byte_hit_the_header_deadline(serve: Any) -> None:
    """Every byte arrives well within the timeout, but the whole header block never does in time."""
    request = b"GET /hello HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 200 + b"\r\n\r\n"
    async with serve(Uploads, header_timeout=0.5) as served:
        reader, writer = await asyncio.open_connection(*served.address)
        closed = asyncio.ensure_future(_read_until_closed(reader))
        try:
            for byte in request:
                if closed.done():
                    break
                writer.write(bytes([byte]))
                await asyncio.wait([closed], timeout=0.05)
            data, _ = await closed
        finally:
            writer.close()
    assert data.startswith(b"HTTP/1.1 408 Request Timeout\r\n")
    assert b"hello" not in data


async def test_a_request_sent_in_time_is_answered_and_the_kept_alive_connection_owes_the_next_in_time(
    serve: Any,
) -> None:
    async with serve(Uploads, header_timeout=0.3, keepalive_timeout=30) as served:
        reader, writer = await asyncio.open_connection(*served.address)
        try:
            writer.write(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
            head = await asyncio.wait_for(reader.readuntil(b"hello"), CLOSE_WITHIN)
            data, _ = await _read_until_closed(reader)
        finally:
            writer.close()
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert data.startswith(b"HTTP/1.1 408 Request Timeout\r\n")


async def test_a_body_that_stops_arriving_gets_408_and_the_connection_closes(serve: Any) -> None:
    async with serve(Uploads, read_timeout=0.3) as served:
        reader, writer = await asyncio.open_connection(*served.address)
        try:
            writer.write(b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n" + b"x" * 10)
            data, elapsed = await _read_until_closed(reader)
        finally:
            writer.close()
        assert served.errors == []  # the client's fault: no handler error reported
    assert data.startswith(b"HTTP/1.1 408 Request Timeout\r\n")
    assert b"Connection: close" in data
    assert elapsed < CLOSE_WITHIN


async def test_a_slow_but_steady_body_is_read_whole(serve: Any) -> None:
    """The read timeout is the gap between bytes, not the whole upload: 8 chunks 0.1 s apart with a 0.3 s limit."""
    chunks = [b"y" * 100] * 8
    async with serve(Uploads, read_timeout=0.3) as served:
        reader, writer = await asyncio.open_connection(*served.address)
        try:
            writer.write(b"POST /upload HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 800\r\n\r\n")
            for chunk in chunks:
                writer.write(chunk)
                await writer.drain()
                await asyncio.sleep(0.1)  # the client's pace, not a wait for the server
            data, _ = await _read_until_closed(reader)
        finally:
            writer.close()
    assert data.startswith(b"HTTP/1.1 200 OK\r\n")
    assert data.endswith(b"800 bytes")


async def test_no_limits_when_the_options_say_none(serve: Any) -> None:
    async with serve(Uploads, header_timeout=None, read_timeout=None) as served:
        settings = HttpSettings.from_options(Options(http={"header_timeout": None, "read_timeout": None}))
        assert (settings.header_timeout, settings.read_timeout) == (None, None)
        async with served.client.get("/hello") as response:
            assert await response.text() == "hello"


def test_timeouts_have_safe_defaults() -> None:
    settings = HttpSettings.from_options(Options())
    assert settings.header_timeout == 30.0
    assert settings.read_timeout == 60.0


@pytest.mark.parametrize("option", ["header_timeout", "read_timeout"])
def test_a_negative_timeout_is_refused(option: str) -> None:
    with pytest.raises((ValueError, TypeError), match=option):
        Options(http={option: -1})


async def test_an_ordinary_client_is_not_affected(serve: Any) -> None:
    async with serve(Uploads, header_timeout=5, read_timeout=5) as served:
        async with served.client.post("/upload", data=b"z" * 70_000) as response:
            assert await response.text() == "70000 bytes"


class Slow(tomodachi.Service):
    name = "slow"

    def __init__(self) -> None:
        self.release = asyncio.Event()

    @tomodachi.http("GET", r"/slow")
    async def slow(self, request: web.Request) -> str:
        await self.release.wait()
        return "slow"

    @tomodachi.http("GET", r"/fast")
    async def fast(self, request: web.Request) -> str:
        return "fast"


async def test_pipelined_requests_are_not_cut_off_by_the_header_deadline(serve: Any) -> None:
    """Two requests in one write: the second waits behind a handler that outlives the header timeout."""
    service = Slow()
    async with serve(service, header_timeout=0.2, keepalive_timeout=30) as served:
        reader, writer = await asyncio.open_connection(*served.address)
        try:
            writer.write(
                b"GET /fast HTTP/1.1\r\nHost: x\r\n\r\nGET /slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            )
            first = await asyncio.wait_for(reader.readuntil(b"fast"), CLOSE_WITHIN)
            # the deadline re-armed after /fast passes while /slow is still being handled
            await asyncio.sleep(0.5)
            service.release.set()
            rest, _ = await _read_until_closed(reader)
        finally:
            writer.close()
    assert first.startswith(b"HTTP/1.1 200 OK\r\n")
    assert rest.count(b"HTTP/1.1 ") == 1 and rest.endswith(b"slow")
    assert b"408" not in rest
