"""http_middleware chain (order, arguments, overrides, short-circuit) and @tomodachi.decorator on handlers."""

from __future__ import annotations

from typing import Any

import tomodachi

calls: list[str] = []


async def outer(func: Any, service: Any, request: Any, context: dict[str, Any]) -> Any:
    calls.append(f"outer:{request.path}:{service.name}")
    context["seen_by_outer"] = True
    response = await func()
    calls.append("outer-done")
    return response


async def inner(func: Any, service: Any, request: Any, context: dict[str, Any], **kwargs: Any) -> Any:
    calls.append(f"inner:{sorted(kwargs)}:{context.get('seen_by_outer')}")
    return await func(user="alice")


async def blocker(func: Any, *, request: Any) -> Any:
    if request.headers.get("X-Block"):
        return 403, "blocked by middleware"
    return await func()


class WithMiddleware:
    name = "mw"
    http_middleware = [outer, inner]

    @tomodachi.http("GET", r"/hello/(?P<who>[a-z]+)")
    async def hello(self, request: Any, who: str, user: str = "nobody") -> str:
        calls.append("handler")
        return f"{who} as {user}"

    @tomodachi.http_error(404)
    async def missing(self, status_code: int, user: str = "nobody") -> tuple[int, str]:
        return 404, f"missing ({status_code}) for {user}"


async def test_middleware_order_context_and_forwarded_kwargs(serve: Any) -> None:
    calls.clear()
    async with serve(WithMiddleware) as served:
        async with served.client.get("/hello/bob") as response:
            assert await response.text() == "bob as alice"
        assert calls == ["outer:/hello/bob:mw", "inner:[]:True", "handler", "outer-done"]
        calls.clear()
        async with served.client.get("/nope") as response:
            assert (response.status, await response.text()) == (404, "missing (404) for alice")
        assert calls[1] == "inner:['status_code']:True"


class Blocked:
    http_middleware = [blocker]

    @tomodachi.http("GET", r"/")
    async def index(self) -> str:
        return "open"


async def test_middleware_can_short_circuit(serve: Any) -> None:
    async with serve(Blocked) as served:
        async with served.client.get("/") as response:
            assert await response.text() == "open"
        async with served.client.get("/", headers={"X-Block": "1"}) as response:
            assert (response.status, await response.text()) == (403, "blocked by middleware")


@tomodachi.decorator
async def require_token(self: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
    if request.headers.get("Authorization") != "Bearer good":
        return 401, "unauthorized"
    return None


@tomodachi.decorator(include_function=True)
async def audit(func: Any, self: Any, *args: Any, **kwargs: Any) -> Any:
    self.audited.append(func.__name__)
    return True


class Decorated:
    def __init__(self) -> None:
        self.audited: list[str] = []

    @tomodachi.http("GET", r"/secret/(?P<key>\w+)")
    @require_token
    @audit
    async def secret(self, request: Any, key: str) -> str:
        return f"secret {key}"


async def test_tomodachi_decorator_wrappers_see_the_handler_signature(serve: Any) -> None:
    service = Decorated()
    async with serve(service) as served:
        async with served.client.get("/secret/k1") as response:
            assert (response.status, await response.text()) == (401, "unauthorized")
        async with served.client.get("/secret/k2", headers={"Authorization": "Bearer good"}) as response:
            assert (response.status, await response.text()) == (200, "secret k2")
    assert service.audited == ["secret"]
