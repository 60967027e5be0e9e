"""A lost message (dead-lettered, dropped or unparseable) fails the test unless it was taken or expected; handler
errors expected by one service do not excuse another's."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

import tomodachi
from tomodachi.envelope import JsonBase
from tomodachi.messaging.pipeline import ErrorPolicy
from tomodachi.testing import FakeAmqp, FakeSnsSqs, LostMessages, TestSystem, UnnoticedErrors, system

BUSES = ["amqp", "aws_sns_sqs"]
QUEUES = {"amqp": "retrying-amqp", "aws_sns_sqs": "retrying-sns"}
DEAD_LETTER_QUEUES = {"amqp": "retrying-amqp.dlq", "aws_sns_sqs": "retrying-sns-dlq"}


class Refused(Exception):
    pass


class Retrying(tomodachi.Service):
    """Default policy (retry, then dead-letter); fails every message whose data says ``fail``."""

    name = "retrying"
    message_envelope = JsonBase
    message_error_policy = ErrorPolicy(max_attempts=2)

    def __init__(self) -> None:
        self.handled: list[Any] = []

    def handle(self, data: Any) -> None:
        if isinstance(data, dict) and data.get("fail"):
            raise Refused(str(data["fail"]))
        self.handled.append(data)

    @tomodachi.amqp("work", queue_name="retrying-amqp")
    async def on_amqp(self, data: Any) -> None:
        self.handle(data)

    @tomodachi.amqp("other.work", queue_name="retrying-other-amqp")
    async def on_other_amqp(self, data: Any) -> None:
        self.handle(data)

    @tomodachi.aws_sns_sqs(
        "work", queue_name="retrying-sns", dead_letter_queue_name="retrying-sns-dlq", max_receive_count=2
    )
    async def on_sns(self, data: Any) -> None:
        self.handle(data)


class Upstream(tomodachi.Service):
    """``message_error_policy = "upstream"``: a failing message is acknowledged and dropped."""

    name = "upstream"
    message_envelope = JsonBase
    message_error_policy = "upstream"

    @tomodachi.amqp("drop.me", queue_name="upstream-amqp")
    async def on_amqp(self, data: Any) -> None:
        raise Refused("dropped on amqp")

    @tomodachi.aws_sns_sqs("drop.me", queue_name="upstream-sns")
    async def on_sns(self, data: Any) -> None:
        raise Refused("dropped on sns")


def fake_of(s: TestSystem, bus: str) -> FakeAmqp | FakeSnsSqs:
    return s.fake_amqp if bus == "amqp" else s.fake_sns_sqs


async def lose_one(s: TestSystem, bus: str) -> None:
    """Publish a message that the retrying service dead-letters, and notice the handler errors (not the loss)."""
    s.service("retrying").expect_errors(Refused)
    await fake_of(s, bus).publish("work", {"fail": "always"})
    await s.run_until_idle()


async def run_system(body: Callable[[TestSystem], Awaitable[None]], *services: type[Any]) -> None:
    async with system(*services) as s:
        await body(s)


# -- losses fail the test ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("bus", BUSES)
async def test_a_dead_lettered_message_fails_the_system_with_lost_messages(bus: str) -> None:
    async def body(s: TestSystem) -> None:
        await lose_one(s, bus)

    with pytest.raises(LostMessages) as info:
        await run_system(body, Retrying)

    message = str(info.value)
    assert QUEUES[bus] in message
    assert "dead-lettered" in message
    assert "Refused: always" in message
    assert "take_dead_letters" in message and "expect_dead_letters" in message
    assert isinstance(info.value, UnnoticedErrors)


@pytest.mark.parametrize("bus", BUSES)
async def test_a_message_dropped_by_the_upstream_policy_fails_the_system_with_lost_messages(bus: str) -> None:
    async def body(s: TestSystem) -> None:
        s.expect_errors(Refused)
        await fake_of(s, bus).publish("drop.me", {"n": 1})
        await s.settle()
        [dropped] = fake_of(s, bus).dead_letters()
        assert (dropped.kept, dropped.dead_letter_queue, dropped.data) == (False, None, {"n": 1})

    with pytest.raises(LostMessages) as info:
        await run_system(body, Upstream)

    assert "dropped" in str(info.value)
    assert "upstream-" in str(info.value)


@pytest.mark.parametrize("bus", BUSES)
async def test_an_unparseable_message_fails_the_system_with_lost_messages(bus: str) -> None:
    async def body(s: TestSystem) -> None:
        await fake_of(s, bus).publish("work", "not an envelope", envelope=None)
        await s.settle()
        assert s.service("retrying").instance.handled == []
        assert s.take_errors() == []  # no handler ran: the message is the only trace

    with pytest.raises(LostMessages) as info:
        await run_system(body, Retrying)

    assert "unable to parse message" in str(info.value)
    assert QUEUES[bus] in str(info.value)


@pytest.mark.parametrize("bus", BUSES)
async def test_a_taken_dead_letter_does_not_fail_the_system(bus: str) -> None:
    taken: list[Any] = []

    async def body(s: TestSystem) -> None:
        await lose_one(s, bus)
        taken.extend(d.data for d in fake_of(s, bus).take_dead_letters(QUEUES[bus]))

    await run_system(body, Retrying)

    assert taken == [{"fail": "always"}]


@pytest.mark.parametrize("bus", BUSES)
async def test_dead_letters_are_found_by_the_dead_letter_queue_that_kept_them_too(bus: str) -> None:
    async def body(s: TestSystem) -> None:
        await lose_one(s, bus)
        fake = fake_of(s, bus)
        [lost] = fake.dead_letters(QUEUES[bus])
        assert lost.dead_letter_queue == DEAD_LETTER_QUEUES[bus]
        assert fake.dead_letters(DEAD_LETTER_QUEUES[bus]) == [lost]
        assert fake.take_dead_letters(DEAD_LETTER_QUEUES[bus]) == [lost]

    await run_system(body, Retrying)


@pytest.mark.parametrize("bus", BUSES)
async def test_expected_dead_letters_on_the_dead_letter_queue_do_not_fail_the_system(bus: str) -> None:
    async def body(s: TestSystem) -> None:
        fake_of(s, bus).expect_dead_letters(DEAD_LETTER_QUEUES[bus])
        await lose_one(s, bus)

    await run_system(body, Retrying)


@pytest.mark.parametrize("bus", BUSES)
async def test_expected_dead_letters_on_the_queue_do_not_fail_the_system(bus: str) -> None:
    async def body(s: TestSystem) -> None:
        fake_of(s, bus).expect_dead_letters(QUEUES[bus])
        await lose_one(s, bus)
        assert len(fake_of(s, bus).dead_letters()) == 1  # still recorded, just allowed

    await run_system(body, Retrying)


@pytest.mark.parametrize("bus", BUSES)
async def test_expect_dead_letters_without_a_queue_covers_every_queue_of_that_bus(bus: str) -> None:
    async def body(s: TestSystem) -> None:
        fake_of(s, bus).expect_dead_letters()
        await lose_one(s, bus)

    await run_system(body, Retrying)


async def test_expected_dead_letters_on_one_queue_do_not_excuse_another_queue() -> None:
    async def body(s: TestSystem) -> None:
        s.fake_amqp.expect_dead_letters("retrying-amqp")
        s.expect_errors(Refused)
        await s.fake_amqp.publish("work", {"fail": "allowed"})
        await s.fake_amqp.publish("other.work", {"fail": "not allowed"})
        await s.run_until_idle()

    with pytest.raises(LostMessages) as info:
        await run_system(body, Retrying)

    assert "retrying-other-amqp" in str(info.value)
    assert "not allowed" in str(info.value)
    assert "Refused: allowed" not in str(info.value)


async def test_expected_dead_letters_on_one_bus_do_not_excuse_the_other_bus() -> None:
    async def body(s: TestSystem) -> None:
        s.fake_amqp.expect_dead_letters()
        await lose_one(s, "aws_sns_sqs")

    with pytest.raises(LostMessages) as info:
        await run_system(body, Retrying)

    assert "retrying-sns" in str(info.value)


async def test_a_publish_no_subscription_matches_is_recorded_and_is_not_a_loss() -> None:
    records: list[Any] = []

    async def body(s: TestSystem) -> None:
        records.append(await s.fake_amqp.publish("nobody.listens", {"n": 1}))
        records.append(await s.fake_sns_sqs.publish("nobody-listens", {"n": 2}))
        await s.settle()
        assert s.fake_amqp.published("nobody.listens") == [records[0]]
        assert s.fake_sns_sqs.published("nobody-listens") == [records[1]]
        assert s.fake_amqp.dead_letters() == s.fake_sns_sqs.dead_letters() == []

    await run_system(body, Retrying)

    assert [r.delivered_to for r in records] == [(), ()]


# -- errors are excused per service --------------------------------------------------------------------------------


class Alpha(tomodachi.Service):
    name = "alpha"
    message_envelope = JsonBase
    message_error_policy = "upstream"

    @tomodachi.amqp("shared", queue_name="alpha-shared")
    async def on_shared(self, data: Any) -> None:
        raise Refused("alpha refused")


class Beta(tomodachi.Service):
    name = "beta"
    message_envelope = JsonBase
    message_error_policy = "upstream"

    @tomodachi.amqp("shared", queue_name="beta-shared")
    async def on_shared(self, data: Any) -> None:
        raise Refused("beta refused")


async def test_expect_errors_of_one_service_does_not_excuse_another_raising_the_same_type() -> None:
    async def body(s: TestSystem) -> None:
        s.service("alpha").expect_errors(Refused)
        s.fake_amqp.expect_dead_letters()
        await s.fake_amqp.publish("shared", {})
        await s.settle()

    with pytest.raises(UnnoticedErrors) as info:
        await run_system(body, Alpha, Beta)

    assert "beta.on_shared: Refused: beta refused" in str(info.value)
    assert "alpha refused" not in str(info.value)
    assert not isinstance(info.value, LostMessages)


async def test_expect_errors_of_each_service_lets_the_system_exit_cleanly() -> None:
    async def body(s: TestSystem) -> None:
        s.service("alpha").expect_errors(Refused)
        s.service("beta").expect_errors(Refused)
        s.fake_amqp.expect_dead_letters()
        await s.fake_amqp.publish("shared", {})
        await s.settle()
        assert [str(e) for e in s.service("beta").errors] == ["beta refused"]

    await run_system(body, Alpha, Beta)


async def test_expect_errors_takes_exception_classes_only(tomodachi_system: TestSystem) -> None:
    svc = await tomodachi_system.start(Alpha)
    with pytest.raises(TypeError, match="exception classes"):
        svc.expect_errors(Refused("an instance"))  # type: ignore[arg-type]


# -- at a pytest test's teardown -----------------------------------------------------------------------------------

INNER_ARGS = ("-p", "no:cacheprovider", "-p", "no:hypothesispytest")
INNER_INI = "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"

INNER_TESTS = """
import tomodachi
from tomodachi.envelope import JsonBase
from tomodachi.messaging.pipeline import ErrorPolicy


class Failing(tomodachi.Service):
    name = "failing"
    message_envelope = JsonBase
    message_error_policy = ErrorPolicy(max_attempts=1)

    @tomodachi.amqp("work", queue_name="failing-work")
    async def on_work(self, data):
        raise ValueError(f"refused {data}")


class Other(tomodachi.Service):
    name = "other"
    message_envelope = JsonBase
    message_error_policy = "upstream"

    @tomodachi.aws_sns_sqs("work", queue_name="other-work")
    async def on_work(self, data):
        raise ValueError(f"other refused {data}")


async def test_lost_unnoticed(tomodachi_service, fake_amqp):
    svc = await tomodachi_service(Failing)
    svc.expect_errors(ValueError)
    await fake_amqp.publish("work", "lost-1")
    await fake_amqp.settle()


async def test_lost_taken(tomodachi_service, fake_amqp):
    svc = await tomodachi_service(Failing)
    svc.expect_errors(ValueError)
    await fake_amqp.publish("work", "lost-2")
    await fake_amqp.settle()
    assert [d.data for d in fake_amqp.take_dead_letters()] == ["lost-2"]


async def test_lost_expected(tomodachi_service, fake_amqp):
    svc = await tomodachi_service(Failing)
    svc.expect_errors(ValueError)
    fake_amqp.expect_dead_letters("failing-work")
    await fake_amqp.publish("work", "lost-3")
    await fake_amqp.settle()


async def test_unparseable_unnoticed(tomodachi_service, fake_amqp):
    await tomodachi_service(Failing)
    await fake_amqp.publish("work", "lost-4 raw", envelope=None)
    await fake_amqp.settle()


async def test_other_service_same_error(tomodachi_system, fake_sns_sqs):
    failing = await tomodachi_system.start(Failing)
    await tomodachi_system.start(Other)
    failing.expect_errors(ValueError)
    fake_sns_sqs.expect_dead_letters()
    await fake_sns_sqs.publish("work", "lost-5")
    await tomodachi_system.settle()


async def test_unmatched_publish(fake_amqp, fake_sns_sqs):
    await fake_amqp.publish("nobody", "lost-6")
    await fake_sns_sqs.publish("nobody", "lost-7")
    await fake_sns_sqs.settle()
    assert fake_amqp.published()[0].delivered_to == ()
"""


def test_lost_messages_fail_a_pytest_test_at_teardown_unless_taken_or_expected(pytester: pytest.Pytester) -> None:
    pytester.makeini(INNER_INI)
    pytester.makepyfile(test_inner_losses=INNER_TESTS)

    result = pytester.runpytest(*INNER_ARGS)

    result.assert_outcomes(passed=6, errors=3)
    result.stdout.fnmatch_lines_random(
        [
            "*ERROR at teardown of test_lost_unnoticed*",
            "*ERROR at teardown of test_unparseable_unnoticed*",
            "*ERROR at teardown of test_other_service_same_error*",
            "*LostMessages: 1 message(s) were lost*",
            "*failing.on_work on failing-work: dead-lettered*ValueError: refused lost-1*",
            "*failing.on_work on failing-work: dead-lettered*unable to parse message*",
            "*UnnoticedErrors: 1 handler exception(s)*",
            "*other.on_work: ValueError: other refused lost-5*",
        ]
    )
    for quiet in ("lost-2", "lost-3", "lost-6", "lost-7"):
        result.stdout.no_fnmatch_line(f"*{quiet}*")
