"""The direct call of a plain route gives each handler signature what the general injection gives it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web

import tomodachi
from tomodachi.logging import get_handler_context
from tomodachi.transport.http import invoke


async def _later(text: str) -> str:
    return text


class Signatures:
    @tomodachi.http("GET", r"/none")
    async def no_parameters(self) -> str:
        return "none"

    @tomodachi.http("GET", r"/positional")
    async def positional(self, request: web.Request) -> str:
        return f"positional {request.path}"

    @tomodachi.http("GET", r"/other-name")
    async def other_name(self, req: web.Request) -> str:
        return f"other-name {req.path}"

    @tomodachi.http("GET", r"/keyword-only")
    async def keyword_only(self, *, request: web.Request) -> str:
        return f"keyword-only {request.path}"

    @tomodachi.http("GET", r"/var-keyword")
    async def var_keyword(self, **kwargs: Any) -> str:
        return f"var-keyword {sorted(kwargs)} {kwargs['request'].path}"

    @tomodachi.http("GET", r"/sync")
    def sync(self, request: web.Request) -> str:
        return f"sync {request.path}"

    @tomodachi.http("GET", r"/sync-awaitable")
    def sync_awaitable(self, request: web.Request) -> Awaitable[str]:
        return _later(f"sync-awaitable {request.path}")

    @tomodachi.http("GET", r"/context")
    async def context(self) -> dict[str, Any]:
        return {"body": repr(sorted(get_handler_context().items())), "status": 200}

    @tomodachi.http("GET", r"/group/(?P<name>[a-z]+)")
    async def group(self, request: web.Request, name: str) -> str:
        return f"group {name}"


async def test_every_signature_gets_the_request_as_it_declares_it(serve: Any) -> None:
    expected = {
        "/none": "none",
        "/positional": "positional /positional",
        "/other-name": "other-name /other-name",
        "/keyword-only": "keyword-only /keyword-only",
        "/var-keyword": "var-keyword ['request'] /var-keyword",
        "/sync": "sync /sync",
        "/sync-awaitable": "sync-awaitable /sync-awaitable",
        "/group/abc": "group abc",
    }
    async with serve(Signatures) as served:
        for path, body in expected.items():
            async with served.client.get(path) as response:
                assert (response.status, await response.text()) == (200, body), path
        assert served.errors == []


async def test_the_direct_call_is_taken_only_by_routes_without_groups(serve: Any) -> None:
    async with serve(Signatures) as served:
        app = served.transport.app
        assert app is not None
        direct = {route.handler.name for route in app.plain_calls}
        assert "group" not in direct
        assert {"no_parameters", "positional", "keyword_only", "var_keyword", "sync", "context"} <= direct


async def test_a_handler_called_directly_logs_with_its_own_context(serve: Any) -> None:
    async with serve(Signatures) as served:
        async with served.client.get("/context") as response:
            assert await response.text() == repr([("handler", "context"), ("type", "tomodachi.http")])


class WithPreHandler:
    def __init__(self) -> None:
        self.seen: list[str] = []

    @staticmethod
    def _before(service: Any, request: web.Request) -> None:
        service.seen.append(f"pre {request.path}")

    @tomodachi.http("GET", r"/hello", pre_handler_func=_before)
    async def hello(self) -> str:
        return "hello"


async def test_a_pre_handler_func_still_runs_before_the_handler(serve: Any) -> None:
    service = WithPreHandler()
    async with serve(service) as served:
        async with served.client.get("/hello") as response:
            assert await response.text() == "hello"
    assert service.seen == ["pre /hello"]


class WithMiddlewareAddedLater:
    def __init__(self) -> None:
        self.http_middleware: list[Callable[..., Awaitable[object]]] = []

    @tomodachi.http("GET", r"/hello")
    async def hello(self, request: web.Request) -> str:
        return "hello"


async def test_a_middleware_set_after_start_wraps_the_next_request(serve: Any) -> None:
    service = WithMiddlewareAddedLater()
    calls: list[str] = []

    async def middleware(func: Callable[..., Awaitable[object]], service: Any, request: web.Request) -> object:
        calls.append(request.path)
        return await func()

    async with serve(service) as served:
        async with served.client.get("/hello") as response:
            assert await response.text() == "hello"
        service.http_middleware.append(middleware)
        async with served.client.get("/hello") as response:
            assert await response.text() == "hello"
    assert calls == ["/hello"]


class Around:
    """A pre-middleware marked ``called_directly`` (as the instrumentation's is): alone, it is called as
    ``middleware(next, service, request)`` around a plain route's handler, without the middleware chain."""

    called_directly = True

    def __init__(self) -> None:
        self.seen: list[tuple[str, object]] = []

    async def __call__(self, handler: Callable[[], Awaitable[object]], service: Any, request: web.Request) -> object:
        try:
            result = await handler()
        except Exception as exc:
            self.seen.append((request.path, exc))
            raise
        self.seen.append((request.path, result))
        return result


class Wrapped:
    def __init__(self, *middlewares: Callable[..., Awaitable[object]]) -> None:
        self._aiohttp_pre_middleware = list(middlewares)
        self.http_middleware: list[Callable[..., Awaitable[object]]] = []

    @tomodachi.http("GET", r"/async")
    async def in_async(self, request: web.Request) -> str:
        return "async"

    @tomodachi.http("GET", r"/sync")
    def in_sync(self) -> str:
        return "sync"

    @tomodachi.http("GET", r"/broken")
    async def broken(self) -> str:
        raise ValueError("broken on purpose")

    @tomodachi.http("GET", r"/context")
    async def context(self) -> dict[str, Any]:
        return {"body": repr(sorted(get_handler_context().items())), "status": 200}


async def test_a_lone_direct_pre_middleware_wraps_a_plain_handler_and_sees_its_result_or_exception(
    serve: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def no_chain(*args: object, **kwargs: object) -> object:
        raise AssertionError("the middleware chain ran")

    monkeypatch.setattr(invoke, "execute_middlewares", no_chain)
    around = Around()
    async with serve(Wrapped(around)) as served:
        for path, body in (("/async", "async"), ("/sync", "sync")):
            async with served.client.get(path) as response:
                assert (response.status, await response.text()) == (200, body)
        async with served.client.get("/broken") as response:
            assert response.status == 500
        async with served.client.get("/context") as response:  # the handler's log context, as without it
            assert await response.text() == repr([("handler", "context"), ("type", "tomodachi.http")])
    assert [(path, value if isinstance(value, str) else type(value)) for path, value in around.seen[:3]] == [
        ("/async", "async"),
        ("/sync", "sync"),
        ("/broken", ValueError),
    ]
    assert [type(exc) for _, exc in served.errors] == [ValueError]


async def test_a_direct_pre_middleware_beside_user_middleware_runs_in_the_chain_before_it(serve: Any) -> None:
    around = Around()
    service = Wrapped(around)
    order: list[str] = []

    async def user_middleware(handler: Callable[..., Awaitable[object]], service: Any, request: web.Request) -> object:
        order.append(f"user sees {len(around.seen)} finished")
        return await handler()

    service.http_middleware.append(user_middleware)
    async with serve(service) as served:
        async with served.client.get("/async") as response:
            assert await response.text() == "async"
    assert order == ["user sees 0 finished"]
    assert around.seen == [("/async", "async")]


async def test_an_instrumented_plain_route_outside_the_test_tools_is_a_server_span_with_its_status(
    serve: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # outside the test tools no call records are kept, so a plain route takes the direct call (what production
    # does); the instrumentation's middleware alone wraps it
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.trace import StatusCode

    from tomodachi.opentelemetry import TomodachiInstrumentor

    async def no_chain(*args: object, **kwargs: object) -> object:
        raise AssertionError("the middleware chain ran")

    monkeypatch.setattr(invoke, "execute_middlewares", no_chain)
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    service = Wrapped()
    TomodachiInstrumentor.instrument_service(service, tracer_provider=provider)
    try:
        async with serve(service) as served:
            async with served.client.get("/sync") as response:
                assert (response.status, await response.text()) == (200, "sync")
            async with served.client.get("/broken") as response:
                assert response.status == 500
    finally:
        TomodachiInstrumentor.uninstrument_service(service)
    spans = {span.name: span for span in exporter.get_finished_spans()}
    assert (spans["GET /sync"].attributes or {})["http.response.status_code"] == 200
    broken = spans["GET /broken"]
    assert (broken.attributes or {})["http.response.status_code"] == 500
    assert broken.status.status_code is StatusCode.ERROR
    assert [event.name for event in broken.events] == ["exception"]
