"""Publish scopes: a unit of work collects the publishes still awaiting their confirm, settles them at its end
(failing when one is not confirmed), and costs nothing when none is pending."""

from __future__ import annotations

import asyncio

import pytest

from tomodachi.messaging.publish_scope import (
    UnconfirmedPublishError,
    current_scope,
    discard_scope,
    open_scope,
    publish_scope,
    settle_scope,
)


async def test_settling_a_scope_without_pending_publishes_never_suspends() -> None:
    scope = open_scope()
    assert current_scope() is scope
    settling = settle_scope(scope)
    with pytest.raises(StopIteration):  # done on its first step: no future, no trip through the event loop
        settling.send(None)
    assert current_scope() is None


async def test_settle_waits_until_every_tracked_publish_is_confirmed() -> None:
    scope = open_scope()
    scope.track()
    scope.track()
    settling = asyncio.ensure_future(settle_scope(scope))
    await asyncio.sleep(0)
    scope.resolve()
    await asyncio.sleep(0)
    assert not settling.done()
    scope.resolve()
    await asyncio.wait_for(settling, 1)


async def test_settle_raises_at_the_first_publish_that_was_not_confirmed() -> None:
    scope = open_scope()
    scope.track()
    scope.track()
    settling = asyncio.ensure_future(settle_scope(scope))
    await asyncio.sleep(0)
    refused = RuntimeError("nack")
    scope.resolve(refused)  # the other one is still pending: no need to wait for it
    with pytest.raises(UnconfirmedPublishError) as failed:
        await asyncio.wait_for(settling, 1)
    assert failed.value.errors == [refused]
    assert "nack" in str(failed.value)


async def test_async_with_settles_on_exit_and_discards_when_the_body_raises() -> None:
    async with publish_scope() as scope:
        assert current_scope() is scope
        scope.track()
        asyncio.get_running_loop().call_soon(scope.resolve)  # confirmed while the exit waits for it
    assert scope.pending == 0 and current_scope() is None

    async def body_raises() -> None:
        async with publish_scope() as scope:
            scope.track()  # never resolved: a failing body does not wait for its publishes
            raise ValueError("handler failed")

    with pytest.raises(ValueError):
        await asyncio.wait_for(body_raises(), 1)
    assert current_scope() is None


async def test_async_with_raises_unconfirmed_publish_error() -> None:
    with pytest.raises(UnconfirmedPublishError):
        async with publish_scope() as scope:
            scope.track()
            scope.resolve(RuntimeError("lost"))
    assert current_scope() is None


async def test_a_closed_scope_tracks_nothing_more_even_in_tasks_it_started() -> None:
    scope = open_scope()
    started = asyncio.Event()
    go_on = asyncio.Event()
    seen: list[object] = []

    async def fire_and_forget() -> None:  # like amqp_publish(wait=False): runs after the unit of work ended
        started.set()
        await go_on.wait()
        seen.append(current_scope())

    task = asyncio.ensure_future(fire_and_forget())
    await started.wait()
    await settle_scope(scope)
    go_on.set()
    await asyncio.wait_for(task, 1)
    assert seen == [None]


async def test_scopes_nest_and_the_outer_one_comes_back() -> None:
    outer = open_scope()
    inner = open_scope()
    assert current_scope() is inner
    await settle_scope(inner)
    assert current_scope() is outer
    discard_scope(outer)
    discard_scope(outer)  # idempotent
    assert current_scope() is None
