"""``tomodachi.testing.system()``: a whole system outside the fixtures (hypothesis examples, plain asyncio.run),
with the fixtures' guarantees; ``TestSystem.service()`` lookups."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tomodachi
from tomodachi.envelope import JsonBase
from tomodachi.testing import DEFAULT_START, LostMessages, TestSystem, UnnoticedErrors, VirtualClock, system


class Overdrawn(Exception):
    pass


class Account(tomodachi.Service):
    """Applies AMQP ``account.moved`` amounts to a balance that may not go below zero."""

    name = "account"
    message_envelope = JsonBase
    message_error_policy = "upstream"

    def __init__(self) -> None:
        self.balance = 0
        self.stopped = False

    @tomodachi.amqp("account.moved", queue_name="account-moves")
    async def on_moved(self, data: int) -> int:
        if self.balance + data < 0:
            raise Overdrawn(f"{self.balance} + {data}")
        self.balance += data
        return self.balance

    async def _stop_service(self) -> None:
        self.stopped = True


class Auditor(tomodachi.Service):
    name = "auditor"


async def apply_moves(moves: list[int]) -> tuple[int, list[BaseException]]:
    async with system(Account) as s:
        account = s.service("account")
        for move in moves:
            await s.fake_amqp.publish("account.moved", move)
            await s.settle()
        s.fake_amqp.take_dead_letters()
        return account.instance.balance, account.take_errors()


@settings(max_examples=15, deadline=None)
@given(moves=st.lists(st.integers(min_value=0, max_value=1_000), max_size=6))
def test_system_runs_a_hypothesis_example_with_asyncio_run(moves: list[int]) -> None:
    balance, errors = asyncio.run(apply_moves(moves))

    assert balance == sum(moves)
    assert errors == []


@settings(max_examples=15, deadline=None)
@given(
    deposits=st.lists(st.integers(min_value=0, max_value=100), max_size=4),
    withdrawal=st.integers(min_value=1, max_value=1_000),
)
def test_system_raises_unnoticed_errors_at_exit_in_a_hypothesis_example(deposits: list[int], withdrawal: int) -> None:
    async def scenario() -> None:
        async with system(Account) as s:
            s.fake_amqp.expect_dead_letters()
            for amount in [*deposits, -withdrawal]:
                await s.fake_amqp.publish("account.moved", amount)
            await s.settle()

    if withdrawal <= sum(deposits):
        asyncio.run(scenario())
        return
    with pytest.raises(UnnoticedErrors) as info:
        asyncio.run(scenario())
    assert f"account.on_moved: Overdrawn: {sum(deposits)} + {-withdrawal}" in str(info.value)


async def test_system_exit_raises_lost_messages_for_an_unnoticed_loss() -> None:
    with pytest.raises(LostMessages, match="account-moves"):
        async with system(Account) as s:
            s.service("account").expect_errors(Overdrawn)
            await s.fake_amqp.publish("account.moved", -1)
            await s.settle()


async def test_an_exception_in_the_body_is_not_masked_by_unnoticed_errors_or_losses() -> None:
    account: Any = None
    with pytest.raises(KeyError, match="from the body"):
        async with system(Account) as s:
            account = s.service("account").instance
            await s.fake_amqp.publish("account.moved", -5)  # an unnoticed error and an unnoticed loss
            await s.settle()
            assert len(s.fake_amqp.dead_letters()) == 1
            raise KeyError("from the body")

    assert account.stopped  # the services were stopped all the same


async def test_system_stops_its_services_at_exit() -> None:
    async with system(Account) as s:
        account = s.service("account").instance
        assert not account.stopped

    assert account.stopped


async def test_system_freezes_the_wall_clock_on_its_virtual_clock_for_the_body() -> None:
    start = datetime(2001, 5, 17, 8, 30, tzinfo=timezone.utc)
    async with system(Account, start=start) as s:
        assert s.clock.now() == start == datetime.now(timezone.utc)
        await s.clock.advance("2 hours")
        assert datetime.now(timezone.utc) == start + timedelta(hours=2)

    assert datetime.now(timezone.utc) - start > timedelta(days=365)  # the real wall clock again


async def test_system_starts_at_default_start_unless_told() -> None:
    async with system() as s:
        assert s.clock.now() == DEFAULT_START
        assert s.services == []


async def test_system_runs_on_a_given_clock_and_leaves_it_as_it_found_it() -> None:
    clock = VirtualClock(DEFAULT_START + timedelta(days=3))
    async with system(Account, clock=clock) as s:
        assert s.clock is clock
        assert clock.frozen
        await clock.advance(10)

    assert not clock.frozen
    assert clock.now() == DEFAULT_START + timedelta(days=3, seconds=10)


async def test_system_options_reach_every_service() -> None:
    async with system(Account, options={"amqp.routing_key_prefix": "tenant."}) as s:
        await s.fake_amqp.publish("tenant.account.moved", 7)
        await s.settle()
        assert s.service("account").instance.balance == 7


async def test_system_start_adds_a_service_to_the_running_system() -> None:
    async with system(Account) as s:
        auditor = await s.start(Auditor)
        assert [h.name for h in s.services] == ["account", "auditor"]
        assert s.service("auditor") is auditor


# -- TestSystem.service ------------------------------------------------------------------------------------------


async def test_service_is_found_by_name_or_by_class_name(tomodachi_system: TestSystem) -> None:
    account = await tomodachi_system.start(Account)

    assert tomodachi_system.service("account") is account
    assert tomodachi_system.service("Account") is account


async def test_service_is_found_by_class_with_the_handle_typed_by_it(tomodachi_system: TestSystem) -> None:
    account = await tomodachi_system.start(Account)

    found = tomodachi_system.service(Account)
    assert found is account
    assert found.instance.balance == 0  # typed ServiceHandle[Account]: mypy checks the attribute
    with pytest.raises(KeyError, match="no service of class Auditor in this system \\(services: account\\)"):
        tomodachi_system.service(Auditor)


async def test_a_handle_shows_its_service_and_state(tomodachi_system: TestSystem) -> None:
    account = await tomodachi_system.start(Account)
    assert repr(account) == "<ServiceHandle 'account' (Account, running)>"
    await account.stop()
    assert repr(account) == "<ServiceHandle 'account' (Account, stopped)>"


async def test_service_with_a_typo_is_a_key_error_suggesting_the_close_name(tomodachi_system: TestSystem) -> None:
    await tomodachi_system.start(Account)
    await tomodachi_system.start(Auditor)

    with pytest.raises(KeyError) as info:
        tomodachi_system.service("acount")

    message = str(info.value)
    assert "no service 'acount'" in message
    assert "account, auditor" in message
    assert "Did you mean 'account'?" in message


async def test_service_of_an_empty_system_says_there_are_none(tomodachi_system: TestSystem) -> None:
    with pytest.raises(KeyError, match="services: none"):
        tomodachi_system.service("account")


# -- teardown with a handler still running -------------------------------------------------------------------------


class Stuck(tomodachi.Service):
    """A handler that never finishes on its own (it waits for real work that never comes)."""

    name = "stuck"
    message_envelope = JsonBase

    def __init__(self) -> None:
        self.started: list[Any] = []
        self.cancelled: list[Any] = []

    @tomodachi.amqp("stuck.job", queue_name="stuck-jobs")
    async def on_job(self, data: Any) -> None:
        self.started.append(data)
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled.append(data)
            raise


async def test_a_handler_still_running_at_exit_is_cut_off_after_the_grace_period_in_virtual_time() -> None:
    clock = VirtualClock()

    async def scenario() -> Any:
        async with system(Stuck, clock=clock) as s:
            await s.fake_amqp.publish("stuck.job", "forever")
            with pytest.raises(TimeoutError):
                await s.settle(timeout=0.05)
            return s.service("stuck").instance

    # a real-time guard: before the fix, the grace period waited for a virtual clock nobody moved (a hang)
    stuck = await asyncio.wait_for(scenario(), timeout=10)

    assert stuck.started == stuck.cancelled == ["forever"]
    assert clock.now() > DEFAULT_START  # the grace period passed on the virtual clock
