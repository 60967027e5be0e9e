"""Rig for HTTP transport tests: runs the transport directly on a TransportContext bound to 127.0.0.1:0."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest

from tomodachi.handlers import source_line, specs_of
from tomodachi.options import Options
from tomodachi.runtime.environment import Environment
from tomodachi.runtime.transport import BoundHandler, TransportContext
from tomodachi.transport.http.transport import HttpTransport, create_transport


@dataclass
class Served:
    transport: HttpTransport
    client: aiohttp.ClientSession
    errors: list[tuple[str, BaseException]] = field(default_factory=list)

    @property
    def address(self) -> tuple[str, int]:
        assert self.transport.bound_address is not None
        return self.transport.bound_address

    @property
    def url(self) -> str:
        host, port = self.address
        return f"http://{host}:{port}"


def bound_handlers(instance: Any) -> tuple[BoundHandler, ...]:
    """Every http spec on the instance's class, like the container discovers them."""
    found: list[tuple[int, BoundHandler]] = []
    for klass in reversed(type(instance).__mro__):
        for name, value in vars(klass).items():
            for spec in specs_of(value):
                if spec.transport == "http":
                    found.append((source_line(value), BoundHandler(name, getattr(instance, name), spec)))
    return tuple(handler for _, handler in sorted(found, key=lambda item: item[0]))


Serve = Callable[..., AbstractAsyncContextManager[Served]]


@pytest.fixture
def serve() -> Serve:
    """``async with serve(ServiceClass, **http_options) as served:`` — a running transport and a client."""

    @asynccontextmanager
    async def run(service: Any, grace: float = 5.0, **http_options: Any) -> AsyncIterator[Served]:
        instance = service() if isinstance(service, type) else service
        errors: list[tuple[str, BaseException]] = []
        environment = Environment(
            http_bind=("127.0.0.1", 0), report_error=lambda exc, where: errors.append((where, exc))
        )
        options = Options(http={"access_log": False, **http_options})
        transport = create_transport(TransportContext(instance, options, environment, bound_handlers(instance)))
        try:
            await transport.setup()
            await transport.start()
            host, port = transport.bound_address or ("", 0)
            async with aiohttp.ClientSession(base_url=f"http://{host}:{port}") as client:
                yield Served(transport, client, errors)
        finally:
            await transport.stop(grace)

    return run


async def raw_exchange(address: tuple[str, int], data: bytes, timeout: float = 5.0) -> bytes:
    """Send raw bytes on a fresh connection and read until the server closes it."""
    reader, writer = await asyncio.open_connection(*address)
    try:
        writer.write(data)
        await writer.drain()
        return await asyncio.wait_for(reader.read(), timeout)
    finally:
        writer.close()


@pytest.fixture
def raw_http() -> Callable[..., Any]:
    return raw_exchange
