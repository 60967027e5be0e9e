"""Failure policy: retry with back-off on the clock, dead-letter after max attempts, upstream opt-in, parse errors."""

from __future__ import annotations

from typing import Any

from amqp_rig import PlainService, Rig

from tomodachi.envelope import JsonBase
from tomodachi.messaging.amqp.api import amqp
from tomodachi.messaging.amqp.exceptions import AmqpInternalServiceError
from tomodachi.messaging.pipeline import ErrorPolicy


class Flaky(PlainService):
    name = "flaky"
    message_envelope = JsonBase

    def __init__(self, failures: int = 1_000, exc: type[Exception] = RuntimeError) -> None:
        super().__init__()
        self.calls: list[Any] = []
        self.failures = failures
        self.exc = exc

    @amqp("work.todo")
    async def handler(self, data: Any) -> None:
        self.calls.append(data)
        if len(self.calls) <= self.failures:
            raise self.exc(f"boom {len(self.calls)}")


async def test_failing_message_is_retried_with_backoff_then_dead_lettered(rig: Rig) -> None:
    service = Flaky()
    await rig.start(service)
    await rig.publish("work.todo", {"id": 7}, envelope=JsonBase)
    await rig.fake.settle()
    assert len(service.calls) == 1
    assert rig.broker.delayed_count == 1

    await rig.clock.advance(0.9)  # first back-off is 1 s: nothing yet
    await rig.fake.settle()
    assert len(service.calls) == 1

    await rig.clock.advance(0.1)
    await rig.fake.settle()
    assert len(service.calls) == 2

    await rig.clock.advance(2)  # second back-off doubles
    await rig.fake.settle()
    assert len(service.calls) == 3

    # three attempts (the default) → dead-lettered, never lost, never retried again
    [dead] = rig.broker.dead_letters
    assert "RuntimeError: boom 3" in dead.reason
    assert dead.delivery_count == 3
    assert dead.routing_key == "work.todo"
    assert rig.broker.queue_depth(dead.dead_letter_queue or "") == 1
    await rig.clock.advance(3600)
    await rig.fake.settle()
    assert len(service.calls) == 3
    assert [where for _, where in rig.errors] == ["flaky.handler"] * 3


async def test_message_succeeds_on_retry(rig: Rig) -> None:
    service = Flaky(failures=1)
    await rig.start(service)
    await rig.publish("work.todo", 1, envelope=JsonBase)
    await rig.fake.settle()
    await rig.clock.advance(1)
    await rig.fake.settle()
    assert service.calls == [1, 1]
    assert rig.broker.dead_letters == []
    assert rig.broker.delayed_count == 0


async def test_custom_error_policy_attempts_and_delay(rig: Rig) -> None:
    class Patient(Flaky):
        message_error_policy = ErrorPolicy(max_attempts=2, initial_delay=10)

    service = Patient()
    await rig.start(service)
    await rig.publish("work.todo", 1, envelope=JsonBase)
    await rig.fake.settle()
    await rig.clock.advance(9)
    await rig.fake.settle()
    assert len(service.calls) == 1
    await rig.clock.advance(1)
    await rig.fake.settle()
    assert len(service.calls) == 2
    assert len(rig.broker.dead_letters) == 1


async def test_upstream_policy_drops_failed_messages(rig: Rig) -> None:
    class Upstream(Flaky):
        message_error_policy = "upstream"

    service = Upstream()
    await rig.start(service)
    await rig.publish("work.todo", 1, envelope=JsonBase)
    await rig.fake.settle()
    await rig.clock.advance(3600)
    await rig.fake.settle()
    assert len(service.calls) == 1
    assert rig.broker.dead_letters == []
    assert rig.broker.unacked_count() == 0
    assert len(rig.errors) == 1  # still reported


async def test_internal_service_error_forces_a_retry_even_with_upstream_policy(rig: Rig) -> None:
    class Upstream(Flaky):
        message_error_policy = "upstream"

    service = Upstream(failures=2, exc=AmqpInternalServiceError)
    await rig.start(service)
    await rig.publish("work.todo", 1, envelope=JsonBase)
    await rig.fake.settle()
    await rig.clock.advance(1)
    await rig.fake.settle()
    await rig.clock.advance(2)
    await rig.fake.settle()
    assert service.calls == [1, 1, 1]
    assert rig.broker.dead_letters == []


async def test_unparseable_message_is_dead_lettered_and_consumer_keeps_going(rig: Rig) -> None:
    service = Flaky(failures=0)
    await rig.start(service)
    await rig.publish("work.todo", "this is not json")
    await rig.publish("work.todo", {"ok": True}, envelope=JsonBase)
    await rig.fake.settle()
    assert service.calls == [{"ok": True}]
    [dead] = rig.broker.dead_letters
    assert dead.text == "this is not json"
    assert "unable to parse message" in dead.reason
    assert rig.broker.delayed_count == 0  # no retry loop for a message that can never parse


async def test_unparseable_message_is_acked_with_upstream_policy(rig: Rig) -> None:
    class Upstream(Flaky):
        message_error_policy = "upstream"

    await rig.start(Upstream(failures=0))
    await rig.publish("work.todo", "garbage")
    await rig.fake.settle()
    assert rig.broker.dead_letters == []
    assert rig.broker.unacked_count() == 0


async def test_duplicate_message_uuid_is_handled_once(rig: Rig) -> None:
    service = Flaky(failures=0)
    await rig.start(service)
    record = await rig.publish("work.todo", {"id": 1}, envelope=JsonBase)
    await rig.publish("work.todo", record.payload)  # same envelope (same message_uuid) again
    await rig.fake.settle()
    assert service.calls == [{"id": 1}]
    assert rig.broker.unacked_count() == 0


async def test_failed_message_is_not_treated_as_duplicate_on_retry(rig: Rig) -> None:
    service = Flaky(failures=1)
    await rig.start(service)
    await rig.publish("work.todo", 5, envelope=JsonBase)
    await rig.fake.settle()
    await rig.clock.advance(1)
    await rig.fake.settle()
    assert service.calls == [5, 5]
