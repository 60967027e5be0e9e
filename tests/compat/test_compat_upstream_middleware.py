"""Message middleware written the way upstream's users write it: a generator turned into a context manager and
wrapped with ``functools.wraps``, declaring only the values it wants; the chain passes each one what the function it
wraps declares, and values a middleware adds reach the next one and the handler."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Generator
from contextlib import contextmanager
from typing import Any

import tomodachi
from tomodachi.envelope import JsonBase
from tomodachi.testing import FakeSnsSqs, ServiceFactory


def as_middleware(generator_function: Callable[..., Generator[Awaitable[Any], None, None]]) -> Callable[..., Any]:
    """A user's helper: the generator yields the call of the next step; the wrapper forwards everything it gets."""
    managed = contextmanager(generator_function)

    @functools.wraps(generator_function)
    async def middleware(call_next: Callable[..., Any], service: Any, *args: Any, **kwargs: Any) -> None:
        with managed(call_next, service, *args, **kwargs) as step:
            await step

    return middleware


@as_middleware
def doubles_the_attribute(
    call_next: Callable[..., Any], _: Any, *, message_attributes: dict[str, Any]
) -> Generator[Awaitable[Any], None, None]:
    yield call_next(doubled=int(message_attributes["value"]) * 2, seen=["doubles_the_attribute"])


@as_middleware
def adds_one(
    call_next: Callable[..., Any], _: Any, doubled: int = 0, **kwargs: Any
) -> Generator[Awaitable[Any], None, None]:
    yield call_next(doubled=doubled + 1, seen=[*kwargs["seen"], "adds_one"])


class WrappedMiddleware(tomodachi.Service):
    name = "wrapped-middleware"
    message_envelope = JsonBase
    message_middleware = [doubles_the_attribute, adds_one]

    def __init__(self) -> None:
        self.received: list[tuple[Any, int, list[str]]] = []

    @tomodachi.aws_sns_sqs("values", queue_name="wrapped-middleware-values")
    async def on_value(self, data: Any, doubled: int, seen: list[str]) -> None:
        self.received.append((data, doubled, seen))


async def test_a_wrapped_middleware_gets_the_values_the_function_it_wraps_declares(
    tomodachi_service: ServiceFactory, fake_sns_sqs: FakeSnsSqs
) -> None:
    svc = await tomodachi_service(WrappedMiddleware)
    await fake_sns_sqs.publish("values", "payload", attributes={"value": "5"})
    await fake_sns_sqs.settle()
    assert svc.instance.received == [("payload", 11, ["doubles_the_attribute", "adds_one"])]
