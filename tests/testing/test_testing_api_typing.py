"""A user's test module typed with the public testing types passes ``mypy --strict`` (and runs), and the types
are precise: mistakes in such a module are type errors."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

# Every fixture, annotated with the public types; runs as a test too (see below).
USER_TESTS = """
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import tomodachi
from tomodachi.envelope import JsonBase
from tomodachi.testing import (
    DEFAULT_START,
    DeadLetter,
    FakeAmqp,
    FakeSnsSqs,
    HandlerCall,
    Pending,
    PublishedMessage,
    QueuedMessage,
    ServiceFactory,
    ServiceHandle,
    TestSystem,
    VirtualClock,
    system,
)
from tomodachi.testing.harness import ServiceHarness


class Orders(tomodachi.Service):
    name = "orders"
    message_envelope = JsonBase

    def __init__(self) -> None:
        self.totals: list[int] = []

    @tomodachi.amqp("order.created", queue_name="orders-created")
    async def on_order(self, data: Any) -> None:
        if data["total"] < 0:
            raise ValueError("negative total")
        self.totals.append(data["total"])

    @tomodachi.aws_sns_sqs("order.refunded", queue_name="orders-refunded")
    async def on_refund(self, data: Any) -> None:
        self.totals.append(-data["total"])


async def test_every_fixture_typed(
    tomodachi_service: ServiceFactory,
    tomodachi_system: TestSystem,
    virtual_clock: VirtualClock,
    fake_amqp: FakeAmqp,
    fake_sns_sqs: FakeSnsSqs,
    tomodachi_harness: ServiceHarness,
) -> None:
    svc: ServiceHandle[Orders] = await tomodachi_service(Orders)
    totals: list[int] = svc.instance.totals
    assert virtual_clock.now() == DEFAULT_START

    sent: PublishedMessage = await fake_amqp.publish("order.created", {"total": 5})
    refund: PublishedMessage = await fake_sns_sqs.publish("order.refunded", {"total": 2}, attributes={"a": "b"})
    await fake_amqp.publish("order.created", {"total": -1})
    await tomodachi_system.settle()
    assert totals == [5, -2]
    assert (sent.routing_key, refund.topic) == ("order.created", "order.refunded")

    waiting: list[Pending] = tomodachi_system.pending()
    assert [p.kind for p in waiting] == ["retry back-off"]
    due: datetime = waiting[0].due
    await tomodachi_system.run_until_idle(limit=timedelta(hours=1))
    assert virtual_clock.now() >= due

    calls: list[HandlerCall] = await svc.wait_for_call("on_order", count=2)
    assert calls[0].data == {"total": 5}
    errors: list[BaseException] = svc.take_errors()
    assert all(isinstance(e, ValueError) for e in errors)
    dead: list[DeadLetter] = fake_amqp.take_dead_letters("orders-created")
    assert [d.receive_count for d in dead] == [3]
    queued: list[QueuedMessage] = fake_amqp.messages("orders-created.dlq")
    assert len(queued) == 1

    same: ServiceHandle[Orders] = await tomodachi_system.start(Orders)
    assert same.instance is not svc.instance
    assert tomodachi_harness.fake("amqp") is fake_amqp
    await virtual_clock.advance("1 minute")


async def test_system_typed() -> None:
    async with system(Orders) as running:
        handle: ServiceHandle[Any] = running.service("orders")
        assert handle.name == "orders"
"""

# Mistakes mypy must catch: each line ending in "# error" is reported, and nothing else is.
USER_MISTAKES = """
from __future__ import annotations

from datetime import datetime

import tomodachi
from tomodachi.testing import FakeAmqp, FakeSnsSqs, ServiceFactory, ServiceHandle, TestSystem, VirtualClock


class Orders(tomodachi.Service):
    name = "orders"

    def __init__(self) -> None:
        self.totals: list[int] = []


class Billing(tomodachi.Service):
    name = "billing"


async def test_mistakes(
    tomodachi_service: ServiceFactory,
    tomodachi_system: TestSystem,
    virtual_clock: VirtualClock,
    fake_amqp: FakeAmqp,
    fake_sns_sqs: FakeSnsSqs,
) -> None:
    svc = await tomodachi_service(Orders)
    wrong: list[str] = svc.instance.totals  # error
    svc.instance.no_such_attribute  # error
    other: ServiceHandle[Billing] = await tomodachi_service(Orders)  # error
    started = await tomodachi_system.start(Orders)
    started.instance.totals.append("x")  # error
    when: str = virtual_clock.now()  # error
    fake_amqp.fail_next_publishes("3")  # error
    await fake_amqp.send("queue", {})  # error
    await fake_sns_sqs.send("queue", {}, delay_seconds=10)
    text: str = fake_sns_sqs.published()[0].time  # error
    ok: datetime = fake_sns_sqs.published()[0].time
"""


def run_mypy(*paths: Path) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--follow-imports=silent", *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    return result.stdout + result.stderr


@pytest.fixture(scope="module")
def mypy_output(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    folder = tmp_path_factory.mktemp("typed_user_code")
    (folder / "test_user_typed.py").write_text(USER_TESTS)
    (folder / "user_mistakes.py").write_text(USER_MISTAKES)
    return folder, run_mypy(folder / "test_user_typed.py", folder / "user_mistakes.py")


def errors_in(output: str, file_name: str) -> dict[int, str]:
    found: dict[int, str] = {}
    for line in output.splitlines():
        match = re.match(rf".*{re.escape(file_name)}:(\d+): error: (.*)", line)
        if match:
            found[int(match.group(1))] = match.group(2)
    return found


def test_a_user_test_module_typed_with_the_public_types_passes_mypy_strict(mypy_output: tuple[Path, str]) -> None:
    _, output = mypy_output
    assert "test_user_typed.py" not in output, output
    assert errors_in(output, "user_mistakes.py"), output  # mypy did run and check the files


def test_mistakes_in_a_typed_user_test_module_are_type_errors(mypy_output: tuple[Path, str]) -> None:
    _, output = mypy_output
    expected = {number for number, line in enumerate(USER_MISTAKES.splitlines(), 1) if line.endswith("# error")}

    found = errors_in(output, "user_mistakes.py")

    assert set(found) == expected, output
    assert 'has no attribute "no_such_attribute"' in found[min(expected) + 1]
    assert 'has no attribute "send"' in output


def test_the_typed_user_test_module_passes_when_run(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile(test_user_typed=USER_TESTS)

    result = pytester.runpytest("-p", "no:cacheprovider", "-p", "no:hypothesispytest")

    result.assert_outcomes(passed=2)


def test_every_public_name_resolves_from_tomodachi_testing() -> None:
    import tomodachi.testing as testing

    for name in testing.__all__:
        value = getattr(testing, name)
        assert value is not None, name
        assert getattr(value, "__name__", name) == name or name in ("DEFAULT_START", "Duration", "Instant"), name
    assert set(testing.__all__) <= set(dir(testing))
    assert issubclass(testing.LostMessages, testing.UnnoticedErrors)
    assert issubclass(testing.UnnoticedErrors, AssertionError)
    assert issubclass(testing.SettleTimeout, TimeoutError) and issubclass(testing.IdleTimeout, TimeoutError)


def test_an_unknown_name_of_tomodachi_testing_is_an_attribute_error() -> None:
    import tomodachi.testing as testing

    with pytest.raises(AttributeError, match="no attribute 'ServiceHarnes'"):
        getattr(testing, "ServiceHarnes")  # noqa: B009 - the name is the point
