"""Handler failures, error handlers, oversized and malformed requests."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from aiohttp import web

import tomodachi


class Failing:
    name = "failing-service"

    @tomodachi.http("GET", r"/boom")
    async def boom(self) -> str:
        raise RuntimeError("secret internals")

    @tomodachi.http("GET", r"/forbidden")
    async def forbidden(self) -> str:
        raise web.HTTPForbidden(text="go away")

    @tomodachi.http("GET", r"/teapot")
    async def teapot(self) -> tuple[int, str]:
        return 418, "returned error statuses are not routed to http_error"

    @tomodachi.http("POST", r"/upload")
    async def upload(self, request: web.Request) -> str:
        return str(len(await request.read()))

    @tomodachi.http("GET", r"/http-exception")
    async def raises_tomodachi_exception(self) -> str:
        raise tomodachi.HttpException("transport-level failure")


async def test_handler_exception_gives_empty_500_logs_traceback_and_reports(serve: Any, caplog: Any) -> None:
    caplog.set_level(logging.INFO)
    async with serve(Failing) as served:
        async with served.client.get("/boom") as response:
            assert response.status == 500
            body = await response.text()
        assert "secret internals" not in body and "Traceback" not in body
        assert [(where, type(exc)) for where, exc in served.errors] == [("failing-service.boom", RuntimeError)]
    logged = [r for r in caplog.records if "uncaught exception: secret internals" in r.getMessage()]
    assert logged and logged[0].exc_info is not None


async def test_aiohttp_http_exception_is_the_response(serve: Any) -> None:
    async with serve(Failing) as served:
        async with served.client.get("/forbidden") as response:
            assert (response.status, await response.text()) == (403, "go away")
        async with served.client.get("/teapot") as response:
            assert response.status == 418
        assert served.errors == []


async def passthrough(func: Any, service: Any, request: Any) -> Any:
    return await func()


class MissingParam:
    name = "failing-service"
    # middleware could forward any keyword, so the start-time signature check leaves this to the call
    http_middleware = [passthrough]

    @tomodachi.http("GET", r"/missing-param")
    async def missing_param(self, request: Any, unknown: str) -> str:
        return unknown


async def test_unfillable_parameter_is_a_500_naming_the_parameter(serve: Any) -> None:
    async with serve(MissingParam) as served:
        async with served.client.get("/missing-param") as response:
            assert response.status == 500
        ((where, exc),) = served.errors
        assert where == "failing-service.missing_param" and "'unknown'" in str(exc)


async def test_tomodachi_http_exception_in_a_handler_is_a_500(serve: Any) -> None:
    async with serve(Failing) as served:
        async with served.client.get("/http-exception") as response:
            assert response.status == 500
        assert isinstance(served.errors[0][1], tomodachi.HttpException)


async def test_body_over_client_max_size_is_413(serve: Any, raw_http: Any) -> None:
    async with serve(Failing, client_max_size="1K") as served:
        async with served.client.post("/upload", data=b"x" * 1024) as response:
            assert (response.status, await response.text()) == (200, "1024")
        async with served.client.post("/upload", data=b"x" * 1025) as response:
            assert response.status == 413
        # chunked: no Content-Length up front, caught while reading the body
        chunked = b"POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        chunked += b"800\r\n" + b"y" * 2048 + b"\r\n0\r\n\r\n"
        assert (await raw_http(served.address, chunked)).startswith(b"HTTP/1.1 413")


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GARBAGE\r\n\r\n",
        b"GET /boom HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n",
        b"GET /\x00 HTTP/1.1\r\n\r\n",
        b"GET / HTTP/9.9\r\n\r\n",
        b"GET / HTTP/1.1\r\nBad Header\r\n\r\n",
    ],
)
async def test_malformed_requests_get_a_4xx(serve: Any, raw_http: Any, request_bytes: bytes) -> None:
    async with serve(Failing) as served:
        data = await raw_http(served.address, request_bytes)
        status = int(data.split(b" ", 2)[1])
        assert 400 <= status < 500
        assert served.errors == []


class ErrorHandlers:
    name = "errors"

    @tomodachi.http("GET", r"/boom")
    async def boom(self) -> str:
        raise ValueError("nope")

    @tomodachi.http("GET", r"/not-found")
    async def not_found_raised(self) -> str:
        raise web.HTTPNotFound()

    @tomodachi.http_error(404)
    async def error_404(self) -> str:
        raise KeyError("the 404 handler itself fails")

    @tomodachi.http_error(500)
    async def error_500(self, request: Any, status_code: int) -> str:
        return f"handled {status_code} for {request.path}"


async def test_500_handler_and_failing_error_handler_fallback(serve: Any) -> None:
    async with serve(ErrorHandlers) as served:
        async with served.client.get("/boom") as response:
            assert (response.status, await response.text()) == (500, "handled 500 for /boom")
        async with served.client.get("/not-found") as response:
            assert (response.status, await response.text()) == (500, "handled 500 for /not-found")
        assert [where for where, _ in served.errors] == ["errors.boom", "errors.error_404"]


class BrokenErrorHandler:
    @tomodachi.http_error(500)
    async def error_500(self) -> str:
        raise RuntimeError("error handler broken")

    @tomodachi.http("GET", r"/boom")
    async def boom(self) -> str:
        raise RuntimeError("handler broken")


async def test_failing_500_handler_falls_back_to_a_bare_500(serve: Any) -> None:
    async with serve(BrokenErrorHandler) as served:
        async with served.client.get("/boom") as response:
            assert (response.status, await response.read()) == (500, b"")
        assert len(served.errors) == 2


class TwiceHandled:
    @tomodachi.http_error(404)
    async def a(self) -> None: ...

    @tomodachi.http_error(404)
    async def b(self) -> None: ...


async def test_duplicate_error_handlers_fail_setup(serve: Any) -> None:
    from tomodachi.transport.http.routing import RouteError

    with pytest.raises(RouteError, match=r"duplicate @http_error\(404\).*'a'.*'b'"):
        async with serve(TwiceHandled):
            pass
