"""``@tomodachi.decorator``: pass-through on None/True, short-circuit otherwise, signature kept."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

import tomodachi
from tomodachi.handlers import handler_parameters, invoker, source_line, specs_of


@invoker("recording")
def recording(topic: str = "default", **kwargs: Any) -> dict[str, Any]:
    return {"topic": topic, **kwargs}


async def test_bare_form_runs_handler_when_none_is_returned() -> None:
    seen: list[tuple[Any, ...]] = []

    @tomodachi.decorator
    async def audit(*args: Any, **kwargs: Any) -> None:
        seen.append((args, kwargs))

    @audit
    async def handler(value: int, *, extra: str = "x") -> str:
        return f"{value}{extra}"

    assert await handler(1, extra="y") == "1y"
    assert seen == [((1,), {"extra": "y"})]


@pytest.mark.parametrize("form", ["called", "called-with-false"])
async def test_called_form(form: str) -> None:
    factory = tomodachi.decorator() if form == "called" else tomodachi.decorator(include_function=False)

    @factory
    def allow(value: int) -> bool:
        return True

    @allow
    async def handler(value: int) -> int:
        return value + 1

    assert await handler(1) == 2


@pytest.mark.parametrize("outcome", [False, 0, "", (403, "forbidden"), {"error": True}, 404])
async def test_other_return_values_short_circuit(outcome: Any) -> None:
    calls: list[int] = []

    @tomodachi.decorator
    async def deny(value: int) -> Any:
        return outcome

    @deny
    async def handler(value: int) -> str:
        calls.append(value)
        return "handler ran"

    assert await handler(1) == outcome
    assert calls == []


async def test_sync_and_async_decorator_functions() -> None:
    @tomodachi.decorator
    def sync_check(value: int) -> Any:
        return None if value > 0 else "negative"

    @tomodachi.decorator
    async def async_check(value: int) -> Any:
        return True if value < 100 else "too big"

    @sync_check
    @async_check
    async def handler(value: int) -> int:
        return value

    assert await handler(5) == 5
    assert await handler(-1) == "negative"
    assert await handler(500) == "too big"


async def test_include_function_passes_the_handler_first() -> None:
    received: list[Any] = []

    @tomodachi.decorator(include_function=True)
    async def wrap(func: Any, *args: Any, **kwargs: Any) -> Any:
        received.append(func)
        return None

    async def original(value: int) -> int:
        return value * 3

    wrapped = wrap(original)
    assert await wrapped(2) == 6
    assert received == [original]


async def test_sync_handler_result_is_returned() -> None:
    @tomodachi.decorator
    def passthrough(*args: Any) -> None:
        return None

    @passthrough
    def handler(value: int) -> int:
        return value

    assert await handler(9) == 9


def test_wrapper_keeps_the_handler_signature_for_injection() -> None:
    @tomodachi.decorator
    async def check(*args: Any, **kwargs: Any) -> None:
        return None

    async def original(self: Any, request: Any, id: str, page: int = 1) -> None:
        pass

    wrapped = check(original)
    assert wrapped.__name__ == "original"
    assert wrapped.__doc__ == original.__doc__
    assert inspect.signature(wrapped) == inspect.signature(original)
    assert [p.name for p in handler_parameters(wrapped)] == ["self", "request", "id", "page"]
    assert source_line(wrapped) == original.__code__.co_firstlineno


async def test_under_an_invoker_decorator_in_a_service() -> None:
    @tomodachi.decorator
    async def only_even(self: Any, value: int) -> Any:
        return None if value % 2 == 0 else "odd rejected"

    class Guarded(tomodachi.Service):
        name = "guarded"

        @recording("numbers")
        @only_even
        async def on_number(self, value: int) -> str:
            return f"got {value}"

    assert len(specs_of(Guarded.on_number)) == 1
    instance = Guarded()
    assert await instance.on_number(2) == "got 2"
    assert await instance.on_number(3) == "odd rejected"
    bound_params = [p.name for p in handler_parameters(instance.on_number)]
    assert bound_params == ["value"]


@tomodachi.decorator
async def require_token(self: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
    if request.headers.get("X-Token") != "secret":
        return 403, "forbidden"
    return None


class TokenApi(tomodachi.Service):
    name = "token-api"

    @tomodachi.http("GET", r"/items/(?P<item_id>[^/]+)")
    @require_token
    async def item(self, request: Any, item_id: str) -> str:
        return f"item {item_id}"


async def test_http_handler_behind_a_decorator_gets_injected_arguments(tomodachi_service: Any) -> None:
    svc = await tomodachi_service(TokenApi)
    denied = await svc.http.get("/items/7")
    assert (denied.status, await denied.text()) == (403, "forbidden")
    allowed = await svc.http.get("/items/7", headers={"X-Token": "secret"})
    assert (allowed.status, await allowed.text()) == (200, "item 7")
