"""A middleware chain's plans are kept per chain: a repeated chain runs as before, and the cache keeps no service
(nor any middleware) alive, stays bounded, and never lends a plan to a different middleware."""

from __future__ import annotations

import functools
import gc
import weakref
from collections.abc import Callable
from typing import Any

import pytest

from tomodachi import middleware as chain_module
from tomodachi.middleware import execute_middlewares


async def innermost(**kwargs: object) -> object:
    return dict(kwargs)


class Service:
    def __init__(self, name: str) -> None:
        self.name = name

    async def tag(self, func: Any, service: Any, **kwargs: Any) -> Any:
        return {"by": self.name, "service": service.name, **await func(**kwargs)}


async def test_bound_methods_of_two_instances_share_a_plan_but_each_runs_as_its_own_instance() -> None:
    first, second = Service("first"), Service("second")
    for _ in range(3):  # the first round fills the cache, the next ones use it
        assert await execute_middlewares(innermost, [first.tag], first, (), {"a": 1}) == {
            "by": "first",
            "service": "first",
            "a": 1,
        }
        assert await execute_middlewares(innermost, [second.tag], first, (), {"a": 2}) == {
            "by": "second",
            "service": "first",
            "a": 2,
        }


class Guard:
    """A middleware object holding its service, as an instrumentation's middleware might."""

    def __init__(self, service: Service) -> None:
        self.service = service

    async def __call__(self, func: Any) -> Any:
        return {"guarded": self.service.name, **await func()}


async def test_a_cached_chain_keeps_neither_its_service_nor_a_middleware_holding_it_alive() -> None:
    service = Service("gone")
    guard = Guard(service)
    for _ in range(2):
        assert await execute_middlewares(innermost, [service.tag, guard], service, (), {}) == {
            "by": "gone",
            "service": "gone",
            "guarded": "gone",
        }
    service_ref, guard_ref = weakref.ref(service), weakref.ref(guard)
    entries = len(chain_module._chains)
    del service, guard
    gc.collect()
    assert service_ref() is None and guard_ref() is None
    assert len(chain_module._chains) == entries - 1  # the entry went with the middleware object


async def test_the_same_middlewares_in_another_order_run_with_their_own_plans() -> None:
    seen: list[tuple[object, ...]] = []

    async def takes_next_only(func: Any) -> Any:
        seen.append(("next-only",))
        return await func()

    async def takes_service_and_request(func: Any, service: Any, request: Any, **kwargs: Any) -> Any:
        seen.append(("service-request", service.name, request, tuple(sorted(kwargs))))
        return await func(**kwargs)

    one, other = ("next-only",), ("service-request", "s", "request", ("k",))
    orders: list[tuple[list[Callable[..., object]], list[tuple[object, ...]]]] = [
        ([takes_next_only, takes_service_and_request], [one, other]),
        ([takes_service_and_request, takes_next_only], [other, one]),
    ]
    for _ in range(2):
        for chain, expected in orders:
            seen.clear()
            assert await execute_middlewares(innermost, chain, Service("s"), ("request",), {"k": 1}) == {"k": 1}
            assert seen == expected


class TakesServiceAndRequest:
    async def __call__(self, func: Any, service: Any, request: Any) -> Any:
        return {"shape": ("service", "request"), **await func()}


class TakesNextOnly:
    async def __call__(self, func: Any) -> Any:
        return {"shape": (), **await func()}


async def test_a_new_middleware_never_gets_the_plan_of_a_collected_one_whose_id_it_may_reuse() -> None:
    # CPython often places a new object where a collected one was: each must still be called by its own plan
    for round_ in range(50):
        middleware = TakesServiceAndRequest() if round_ % 2 else TakesNextOnly()
        result = await execute_middlewares(innermost, [middleware], Service("s"), ("request",), {})
        assert result == {"shape": ("service", "request") if round_ % 2 else ()}
        del middleware


class NoWeakReference:
    """A callable that cannot be referred to weakly: its chain is planned on every call instead of kept."""

    __slots__ = ()

    async def __call__(self, func: Any, service: Any, *, k: int) -> Any:
        return {"k_seen": k, **await func()}


async def test_chains_of_partials_and_of_objects_without_weak_references_run_every_time() -> None:
    async def scaled(factor: int, func: Any, **kwargs: Any) -> Any:
        return {"factor": factor, **await func(**kwargs)}

    partial = functools.partial(scaled, 3)
    for _ in range(3):
        assert await execute_middlewares(innermost, [partial, NoWeakReference()], Service("s"), (), {"k": 5}) == {
            "factor": 3,
            "k_seen": 5,
            "k": 5,
        }


async def test_the_cache_of_chains_stays_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(chain_module, "_CHAIN_LIMIT", 4)
    monkeypatch.setattr(chain_module, "_chains", {})
    kept = []
    for n in range(10):

        async def middleware(func: Any, n: int = n) -> Any:
            return {"n": n, **await func()}

        kept.append(middleware)
        assert await execute_middlewares(innermost, [middleware], Service("s"), (), {}) == {"n": n}
    assert len(chain_module._chains) == 4
