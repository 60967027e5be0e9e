"""Return-value conventions, default headers, keep-alive and the status helpers."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp import web

import tomodachi
from tomodachi.transport.http import Response


class Returns:
    @tomodachi.http("GET", r"/str")
    async def text(self) -> str:
        return "hallå"

    @tomodachi.http("GET", r"/bytes")
    async def raw(self) -> bytes:
        return b"\x00\x01"

    @tomodachi.http("GET", r"/none")
    async def nothing(self) -> None:
        return None

    @tomodachi.http("GET", r"/dict")
    async def mapping(self) -> dict[str, Any]:
        return {"body": "created", "status": "201", "headers": [("X-A", "1"), ("X-A", "2")]}

    @tomodachi.http("GET", r"/dict-content-type")
    async def mapping_content_type(self) -> dict[str, Any]:
        return {"body": "<p>hi</p>", "content_type": "text/html", "charset": "iso-8859-1"}

    @tomodachi.http("GET", r"/dict-json")
    async def mapping_json(self) -> dict[str, Any]:
        return {"body": {"answer": 42}}

    @tomodachi.http("GET", r"/dict-empty")
    async def mapping_empty(self) -> dict[str, Any]:
        return {"status": 204}

    @tomodachi.http("GET", r"/tuple2")
    async def pair(self) -> tuple[int, str]:
        return 418, "teapot"

    @tomodachi.http("GET", r"/tuple3")
    async def triple(self) -> tuple[int, bytes, dict[str, str]]:
        return 202, b"accepted", {"X-Job": "7"}

    @tomodachi.http("GET", r"/aiohttp")
    async def native(self) -> web.Response:
        return web.json_response({"ok": True}, status=201)

    @tomodachi.http("GET", r"/stream")
    async def stream(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        await response.write(b"chunk-1;")
        await response.write(b"chunk-2")
        return response

    @tomodachi.http("GET", r"/http-response")
    async def http_response(self) -> Any:
        return tomodachi.HttpResponse(body="olé", status=200, headers={"X-B": "b"}, charset="latin-1")

    @tomodachi.http("GET", r"/http-response-header")
    async def http_response_header(self) -> Any:
        return Response(body="x", headers={"Content-Type": "application/xml; charset=utf-16"})

    @tomodachi.http("GET", r"/int")
    async def number(self) -> int:
        return 5


async def test_str_bytes_none(serve: Any) -> None:
    async with serve(Returns) as served:
        async with served.client.get("/str") as response:
            assert response.status == 200
            assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
            assert await response.read() == "hallå".encode()
        async with served.client.get("/bytes") as response:
            assert await response.read() == b"\x00\x01"
            assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
        async with served.client.get("/none") as response:
            assert (response.status, await response.read()) == (200, b"")


async def test_dict_returns(serve: Any) -> None:
    async with serve(Returns) as served:
        async with served.client.get("/dict") as response:
            assert (response.status, await response.text()) == (201, "created")
            assert response.headers.getall("X-A") == ["1", "2"]
        async with served.client.get("/dict-content-type") as response:
            assert response.headers["Content-Type"] == "text/html; charset=iso-8859-1"
        async with served.client.get("/dict-json") as response:
            assert response.headers["Content-Type"] == "application/json; charset=utf-8"
            assert await response.json() == {"answer": 42}
        async with served.client.get("/dict-empty") as response:
            assert (response.status, await response.read()) == (204, b"")


async def test_tuples_and_aiohttp_responses(serve: Any) -> None:
    async with serve(Returns) as served:
        async with served.client.get("/tuple2") as response:
            assert (response.status, await response.text()) == (418, "teapot")
        async with served.client.get("/tuple3") as response:
            assert (response.status, await response.read(), response.headers["X-Job"]) == (202, b"accepted", "7")
        async with served.client.get("/aiohttp") as response:
            assert (response.status, await response.json()) == (201, {"ok": True})
        async with served.client.get("/stream") as response:
            assert await response.read() == b"chunk-1;chunk-2"
            assert response.headers["Server"] == "tomodachi"


async def test_http_response_charset_and_content_type_header(serve: Any) -> None:
    async with serve(Returns) as served:
        async with served.client.get("/http-response") as response:
            assert response.headers["Content-Type"] == "text/plain; charset=latin-1"
            assert await response.read() == "olé".encode("latin-1")
            assert response.headers["X-B"] == "b"
        async with served.client.get("/http-response-header") as response:
            assert response.headers["Content-Type"] == "application/xml; charset=utf-16"
            assert await response.read() == "x".encode("utf-16")


async def test_unsupported_return_value_is_a_500(serve: Any) -> None:
    async with serve(Returns) as served:
        async with served.client.get("/int") as response:
            assert (response.status, await response.read()) == (500, b"")
        assert [where for where, _ in served.errors] == ["Returns.number"]


async def test_server_header_and_content_type_options(serve: Any) -> None:
    async with serve(Returns, server_header="acme", content_type="text/html; charset=latin-1") as served:
        for path in ("/str", "/missing", "/aiohttp"):
            async with served.client.get(path) as response:
                assert response.headers["Server"] == "acme", path
        async with served.client.get("/http-response") as response:
            assert response.headers["Content-Type"] == "text/html; charset=latin-1"


async def test_keep_alive_off_closes_every_connection(serve: Any, raw_http: Any) -> None:
    async with serve(Returns) as served:
        async with served.client.get("/str") as response:
            assert response.headers["Connection"] == "close"
        # HTTP/1.0 clients get an explicit close too; the server closes so read() returns
        data = await raw_http(served.address, b"GET /str HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        assert b"Connection: close" in data


async def test_keep_alive_on_with_max_requests(serve: Any) -> None:
    async with serve(Returns, keepalive_timeout=5, max_keepalive_requests=2) as served:
        reader, writer = await asyncio.open_connection(*served.address)
        try:
            heads = []
            for _ in range(2):
                writer.write(b"GET /str HTTP/1.1\r\nHost: x\r\n\r\n")
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
                await reader.readexactly(len("hallå".encode()))
                heads.append(head.decode())
            assert "Connection: keep-alive" in heads[0]
            assert "Keep-Alive: timeout=5, max=2" in heads[0]
            assert "Connection: close" in heads[1]  # the second request reached max_keepalive_requests
            assert await asyncio.wait_for(reader.read(), 5) == b""
        finally:
            writer.close()


@pytest.mark.parametrize(
    ("value", "status"),
    [
        ("x", 200),
        (b"x", 200),
        (None, 200),
        ({"status": 201}, 201),
        ({"body": "x"}, 200),
        ((404, "x"), 404),
        (tomodachi.HttpResponse(status=302), 302),
        (web.Response(status=204), 204),
        (web.HTTPForbidden(), 403),
        (ValueError("x"), 500),
        (5.5, 500),
    ],
)
async def test_get_http_response_status(value: Any, status: int) -> None:
    assert tomodachi.get_http_response_status_sync(value) == status
    assert await tomodachi.get_http_response_status(value) == status


async def test_get_http_response_status_is_499_when_the_client_is_gone() -> None:
    class Gone:
        transport = None

    assert tomodachi.get_http_response_status_sync("x", request=Gone()) == 499
    assert tomodachi.get_http_response_status_sync("x", request=Gone(), verify_transport=False) == 200


async def test_max_keepalive_time_closes_old_connections(serve: Any) -> None:
    async with serve(Returns, keepalive_timeout=5, max_keepalive_time=0.000001) as served:
        reader, writer = await asyncio.open_connection(*served.address)
        try:
            heads = []
            for _ in range(2):
                writer.write(b"GET /none HTTP/1.1\r\nHost: x\r\n\r\n")
                heads.append(await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5))
                if b"Connection: close" in heads[-1]:
                    break
            assert b"Connection: close" in heads[-1]  # closed at the latest on the second response
            assert await asyncio.wait_for(reader.read(), 5) == b""
        finally:
            writer.close()
