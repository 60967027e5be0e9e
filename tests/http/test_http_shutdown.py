"""Graceful stop: the listener closes first, in-flight requests finish within the grace period, late ones get 503."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import pytest

import tomodachi


class Slow:
    def __init__(self) -> None:
        self.entered = asyncio.Event()
        self.release = asyncio.Event()
        self.cancelled = False

    @tomodachi.http("GET", r"/slow")
    async def slow(self) -> str:
        self.entered.set()
        try:
            await self.release.wait()
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        return "finished"

    @tomodachi.http("GET", r"/fast")
    async def fast(self) -> str:
        return "fast"


async def test_in_flight_request_finishes_and_listener_closes_first(serve: Any) -> None:
    service = Slow()
    async with serve(service) as served:
        pending = asyncio.ensure_future(served.client.get("/slow"))
        await asyncio.wait_for(service.entered.wait(), 5)
        stopping = asyncio.ensure_future(served.transport.stop(5))
        await asyncio.sleep(0)  # stop() runs up to its first suspension: the listener is closed by then
        with pytest.raises(OSError):
            await asyncio.open_connection(*served.address)
        assert not stopping.done()
        service.release.set()
        response = await asyncio.wait_for(pending, 5)
        assert (response.status, await response.text()) == (200, "finished")
        await asyncio.wait_for(stopping, 5)
        assert not service.cancelled


async def test_new_requests_on_live_connections_get_503(serve: Any) -> None:
    service = Slow()
    async with serve(service, keepalive_timeout=10) as served:
        reader, writer = await asyncio.open_connection(*served.address)
        try:
            writer.write(b"GET /fast HTTP/1.1\r\nHost: x\r\n\r\n")
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            assert head.startswith(b"HTTP/1.1 200") and b"Connection: keep-alive" in head
            await reader.readexactly(4)
            async with aiohttp.ClientSession() as other:
                pending = asyncio.ensure_future(other.get(f"{served.url}/slow"))
                await asyncio.wait_for(service.entered.wait(), 5)
                stopping = asyncio.ensure_future(served.transport.stop(5))
                await asyncio.sleep(0)
                writer.write(b"GET /fast HTTP/1.1\r\nHost: x\r\n\r\n")
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
                assert head.startswith(b"HTTP/1.1 503") and b"Connection: close" in head
                service.release.set()
                assert (await asyncio.wait_for(pending, 5)).status == 200
                await asyncio.wait_for(stopping, 5)
        finally:
            writer.close()


async def test_grace_period_bounds_the_wait_and_cancels_stragglers(serve: Any) -> None:
    service = Slow()
    async with serve(service, termination_grace_period_seconds=0.2) as served:
        pending = asyncio.ensure_future(served.client.get("/slow"))
        await asyncio.wait_for(service.entered.wait(), 5)
        started = time.monotonic()
        await served.transport.stop(30)  # the option (0.2 s) is the tighter bound
        assert time.monotonic() - started < 3
        with pytest.raises(aiohttp.ClientError):
            await asyncio.wait_for(pending, 5)
        assert service.cancelled


async def test_stop_is_idempotent_and_safe_before_setup(serve: Any) -> None:
    from tomodachi.options import Options
    from tomodachi.runtime.environment import Environment
    from tomodachi.runtime.transport import TransportContext
    from tomodachi.transport.http.transport import create_transport

    never_started = create_transport(TransportContext(Slow(), Options(), Environment(), ()))
    await never_started.stop(1)
    await never_started.stop(1)
    async with serve(Slow) as served:
        await asyncio.gather(served.transport.stop(1), served.transport.stop(1))
    await served.transport.stop(1)


async def test_bind_failure_is_a_clear_start_error(serve: Any) -> None:
    from tomodachi.options import Options
    from tomodachi.runtime.environment import Environment
    from tomodachi.runtime.transport import TransportContext
    from tomodachi.transport.http.transport import create_transport

    async with serve(Slow, reuse_port=False) as served:
        environment = Environment(http_bind=served.address)
        options = Options(http={"reuse_port": False})
        clash = create_transport(TransportContext(Slow(), options, environment, ()))
        with pytest.raises(tomodachi.HttpException, match="unable to bind service"):
            await clash.setup()
        await clash.stop(1)
