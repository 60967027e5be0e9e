"""One vocabulary on both fakes: publish / published / messages / queues / dead letters / fault injection."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

import tomodachi
from tomodachi.envelope import JsonBase
from tomodachi.messaging.pipeline import ErrorPolicy
from tomodachi.messaging.sns_sqs.api import PUBLISH_ATTEMPTS
from tomodachi.testing import (
    DeadLetter,
    FakeAmqp,
    FakeSnsSqs,
    PublishedMessage,
    QueuedMessage,
    ServiceHandle,
    TestSystem,
)

DESTINATION = "thing.happened"
MAX_ATTEMPTS = 2


class ThingFailed(Exception):
    pass


class Consumer:
    """What both consumers keep: every ``data`` their handler received, in order."""

    received: list[Any]

    def __init__(self) -> None:
        self.received = []

    def consume(self, data: Any) -> None:
        self.received.append(data)
        if isinstance(data, dict) and data.get("fail"):
            raise ThingFailed(f"cannot handle {data['fail']}")


class AmqpThings(Consumer, tomodachi.Service):
    name = "amqp-things"
    message_envelope = JsonBase
    message_error_policy = ErrorPolicy(max_attempts=MAX_ATTEMPTS)

    @tomodachi.amqp(DESTINATION, queue_name="amqp-things")
    async def on_thing(self, data: Any) -> None:
        self.consume(data)

    async def announce(self, data: Any) -> None:
        await tomodachi.amqp_publish(self, data, routing_key="thing.announced")


class SnsThings(Consumer, tomodachi.Service):
    name = "sns-things"
    message_envelope = JsonBase
    message_error_policy = ErrorPolicy(max_attempts=MAX_ATTEMPTS)

    @tomodachi.aws_sns_sqs(
        DESTINATION, queue_name="sns-things", dead_letter_queue_name="sns-things-dlq", max_receive_count=MAX_ATTEMPTS
    )
    async def on_thing(self, data: Any) -> None:
        self.consume(data)

    async def announce(self, data: Any) -> None:
        await tomodachi.aws_sns_sqs_publish(self, data, "thing.announced")


@dataclass(frozen=True)
class Bus:
    """One bus of the parametrized tests: its consumer service, queues and fake."""

    name: str
    service: type[AmqpThings] | type[SnsThings]
    queue: str
    dead_letter_queue: str
    publish_attempts: int  # how many broker calls a service publish makes before it gives up

    def fake(self, system: TestSystem) -> FakeAmqp | FakeSnsSqs:
        return system.fake_amqp if self.name == "amqp" else system.fake_sns_sqs

    async def start(self, system: TestSystem) -> ServiceHandle[AmqpThings | SnsThings]:
        return await system.start(self.service)


BUSES = [
    Bus("amqp", AmqpThings, "amqp-things", "amqp-things.dlq", 1),
    Bus("aws_sns_sqs", SnsThings, "sns-things", "sns-things-dlq", PUBLISH_ATTEMPTS),
]


@pytest.fixture(params=BUSES, ids=[bus.name for bus in BUSES])
def bus(request: pytest.FixtureRequest) -> Bus:
    value: Bus = request.param
    return value


# -- publish -------------------------------------------------------------------------------------------------------


async def test_publish_wraps_data_in_a_json_base_envelope_by_default(tomodachi_system: TestSystem, bus: Bus) -> None:
    svc = await bus.start(tomodachi_system)
    fake = bus.fake(tomodachi_system)

    record = await fake.publish(DESTINATION, {"id": 1})
    await fake.settle()

    assert isinstance(record, PublishedMessage)
    assert svc.instance.received == [{"id": 1}]
    assert record.data == {"id": 1}
    assert record.metadata["topic"] == DESTINATION
    assert record.metadata["message_uuid"]
    assert json.loads(record.text())["data"] == {"id": 1}
    assert record.destination == DESTINATION
    assert record.delivered_to == (bus.queue,)
    assert record.time == tomodachi_system.clock.now()


async def test_publish_record_names_the_destination_as_routing_key_or_topic(
    tomodachi_system: TestSystem, bus: Bus
) -> None:
    await bus.start(tomodachi_system)
    record = await bus.fake(tomodachi_system).publish(DESTINATION, {"id": 1})
    await tomodachi_system.settle()

    if bus.name == "amqp":
        assert (record.routing_key, record.topic) == (DESTINATION, None)
    else:
        assert (record.routing_key, record.topic) == (None, DESTINATION)


async def test_publish_with_envelope_none_sends_the_raw_body(tomodachi_system: TestSystem, bus: Bus) -> None:
    fake = bus.fake(tomodachi_system)

    text = await fake.publish("raw.text", "plain words", envelope=None)
    encoded = await fake.publish("raw.json", {"k": [1, 2]}, envelope=None)

    assert (text.data, text.metadata, text.text()) == ("plain words", {}, "plain words")
    assert (encoded.data, encoded.metadata, encoded.json()) == ({"k": [1, 2]}, {}, {"k": [1, 2]})


class Tagged:
    """A custom envelope: ``{"tag": ..., "body": data}``; the handler gets ``data`` and ``tag``."""

    @classmethod
    async def build_message(cls, service: Any, topic: str, data: Any, **kwargs: Any) -> str:
        return json.dumps({"tag": f"{service.name}/{topic}", "body": data})

    @classmethod
    async def parse_message(cls, payload: str, **kwargs: Any) -> tuple[dict[str, Any], str, float]:
        message = json.loads(payload)
        return {"data": message["body"], "tag": message["tag"]}, "id", 0.0


class TaggedConsumer(tomodachi.Service):
    name = "tagged"
    message_envelope = Tagged

    def __init__(self) -> None:
        self.received: list[tuple[Any, str]] = []

    @tomodachi.amqp("tagged.thing", queue_name="tagged-amqp")
    async def on_amqp(self, data: Any, tag: str) -> None:
        self.received.append((data, tag))

    @tomodachi.aws_sns_sqs("tagged.thing", queue_name="tagged-sns")
    async def on_sns(self, data: Any, tag: str) -> None:
        self.received.append((data, tag))


async def test_publish_with_a_custom_envelope_class_reaches_its_consumer(
    tomodachi_system: TestSystem, bus: Bus
) -> None:
    svc = await tomodachi_system.start(TaggedConsumer)

    record = await bus.fake(tomodachi_system).publish("tagged.thing", {"n": 5}, envelope=Tagged)
    await tomodachi_system.settle()

    assert svc.instance.received == [({"n": 5}, "tomodachi-test/tagged.thing")]
    assert record.json() == {"tag": "tomodachi-test/tagged.thing", "body": {"n": 5}}


class HeaderReader(tomodachi.Service):
    name = "header-reader"
    message_envelope = JsonBase

    def __init__(self) -> None:
        self.seen: list[Any] = []

    @tomodachi.amqp("with.attributes", queue_name="headers-amqp")
    async def on_amqp(self, data: Any, properties: Any) -> None:
        self.seen.append(dict(properties.headers))

    @tomodachi.aws_sns_sqs("with.attributes", queue_name="headers-sns")
    async def on_sns(self, data: Any, message_attributes: dict[str, Any]) -> None:
        self.seen.append(message_attributes)


async def test_publish_attributes_reach_the_handler_and_the_record(tomodachi_system: TestSystem, bus: Bus) -> None:
    svc = await tomodachi_system.start(HeaderReader)
    attributes = {"region": "eu", "priority": 3}

    record = await bus.fake(tomodachi_system).publish("with.attributes", {}, attributes=attributes)
    await tomodachi_system.settle()

    assert dict(record.attributes) == attributes
    assert svc.instance.seen == [attributes]


async def test_publish_rejects_an_empty_destination(tomodachi_system: TestSystem, bus: Bus) -> None:
    with pytest.raises(TypeError, match="destination"):
        await bus.fake(tomodachi_system).publish("", {})


@pytest.mark.parametrize("attributes", [[1], "region=eu", {1: "one"}])
async def test_publish_rejects_attributes_that_are_no_mapping_of_names(
    tomodachi_system: TestSystem, bus: Bus, attributes: Any
) -> None:
    with pytest.raises(TypeError, match="attributes must be a mapping of names"):
        await bus.fake(tomodachi_system).publish("with.attributes", {}, attributes=attributes)


async def test_amqp_publish_attributes_join_the_headers_of_given_properties(
    tomodachi_system: TestSystem, fake_amqp: FakeAmqp
) -> None:
    from tomodachi.messaging.amqp.descriptors import AmqpProperties

    properties = AmqpProperties(content_type="application/json", headers={"trace": "t-1"})
    record = await fake_amqp.publish("with.attributes", {}, attributes={"region": "eu"}, properties=properties)
    assert dict(record.attributes) == {"trace": "t-1", "region": "eu"}


# -- published / queues / messages ---------------------------------------------------------------------------------


async def test_published_lists_test_and_service_publishes_oldest_first(tomodachi_system: TestSystem, bus: Bus) -> None:
    svc = await bus.start(tomodachi_system)
    fake = bus.fake(tomodachi_system)

    await fake.publish(DESTINATION, {"n": 1})
    await svc.instance.announce({"n": 2})
    await fake.publish(DESTINATION, {"n": 3})
    await fake.settle()

    assert [(p.destination, p.data) for p in fake.published()] == [
        (DESTINATION, {"n": 1}),
        ("thing.announced", {"n": 2}),
        (DESTINATION, {"n": 3}),
    ]
    assert [p.data for p in fake.published(DESTINATION)] == [{"n": 1}, {"n": 3}]
    assert [p.data for p in fake.published("thing.announced")] == [{"n": 2}]
    assert fake.published("nobody.publishes.this") == []


async def test_published_messages_come_from_their_own_bus_only(tomodachi_system: TestSystem) -> None:
    await tomodachi_system.fake_amqp.publish("on.amqp", 1)
    await tomodachi_system.fake_sns_sqs.publish("on.sns", 2)

    assert [p.destination for p in tomodachi_system.fake_amqp.published()] == ["on.amqp"]
    assert [p.destination for p in tomodachi_system.fake_sns_sqs.published()] == ["on.sns"]


async def test_queues_lists_the_consumer_queue_and_its_dead_letter_queue(
    tomodachi_system: TestSystem, bus: Bus
) -> None:
    fake = bus.fake(tomodachi_system)
    assert fake.queues() == []

    await bus.start(tomodachi_system)

    assert sorted(fake.queues()) == sorted([bus.queue, bus.dead_letter_queue])


async def test_messages_of_a_dead_letter_queue_hold_the_dead_message(tomodachi_system: TestSystem, bus: Bus) -> None:
    await bus.start(tomodachi_system)
    fake = bus.fake(tomodachi_system)
    tomodachi_system.expect_errors(ThingFailed)

    await fake.publish(DESTINATION, {"fail": "dlq"})
    await tomodachi_system.run_until_idle()

    [queued] = fake.messages(bus.dead_letter_queue)
    assert isinstance(queued, QueuedMessage)
    assert (queued.queue, queued.data) == (bus.dead_letter_queue, {"fail": "dlq"})
    assert fake.messages(bus.queue) == []
    fake.take_dead_letters()


async def test_messages_of_an_unknown_queue_is_a_key_error_naming_the_queues(
    tomodachi_system: TestSystem, bus: Bus
) -> None:
    await bus.start(tomodachi_system)

    with pytest.raises(KeyError) as info:
        bus.fake(tomodachi_system).messages("no-such-queue")

    assert "no-such-queue" in str(info.value)
    assert bus.queue in str(info.value)


# -- dead letters --------------------------------------------------------------------------------------------------


async def test_dead_letter_records_say_what_was_lost_where_and_why(tomodachi_system: TestSystem, bus: Bus) -> None:
    svc = await bus.start(tomodachi_system)
    fake = bus.fake(tomodachi_system)
    svc.expect_errors(ThingFailed)

    await fake.publish(DESTINATION, {"fail": "always"})
    await tomodachi_system.run_until_idle()

    [dead] = fake.dead_letters()
    assert isinstance(dead, DeadLetter)
    assert dead.data == {"fail": "always"}
    assert "cannot handle always" in dead.reason
    assert dead.receive_count == MAX_ATTEMPTS == len(svc.instance.received)
    assert dead.queue == bus.queue
    assert dead.handler == f"{svc.name}.on_thing"
    assert dead.kept is True
    assert dead.dead_letter_queue == bus.dead_letter_queue
    assert dead.time == tomodachi_system.clock.now()
    fake.take_dead_letters()


async def test_dead_letter_and_queued_records_carry_the_attributes_as_plain_values(
    tomodachi_system: TestSystem, bus: Bus
) -> None:
    svc = await bus.start(tomodachi_system)
    fake = bus.fake(tomodachi_system)
    svc.expect_errors(ThingFailed)
    attributes = {"region": "eu", "priority": 3}

    await fake.publish(DESTINATION, {"fail": "with attributes"}, attributes=attributes)
    await tomodachi_system.run_until_idle()

    [dead] = fake.take_dead_letters()
    # the publisher's attributes, beside what the broker added on the way (an AMQP retry copy's bookkeeping)
    assert {name: dead.attributes.get(name) for name in attributes} == attributes
    [queued] = fake.messages(bus.dead_letter_queue)
    assert {name: queued.attributes.get(name) for name in attributes} == attributes


async def test_sqs_send_attributes_are_plain_values_on_dead_letters_and_queued_messages(
    tomodachi_system: TestSystem, fake_sns_sqs: FakeSnsSqs
) -> None:
    svc = await tomodachi_system.start(SnsThings)
    svc.expect_errors(ThingFailed)
    attributes = {"region": "us", "priority": 1}

    await fake_sns_sqs.send("sns-things", {"fail": "sent"}, attributes=attributes)
    assert [dict(m.attributes) for m in fake_sns_sqs.messages("sns-things")] == [attributes]
    await tomodachi_system.run_until_idle()

    [dead] = fake_sns_sqs.take_dead_letters()
    assert dict(dead.attributes) == attributes
    assert [dict(m.attributes) for m in fake_sns_sqs.messages("sns-things-dlq")] == [attributes]


async def test_dead_letters_filters_by_queue_and_reading_them_does_not_notice_them(
    tomodachi_system: TestSystem, bus: Bus
) -> None:
    svc = await bus.start(tomodachi_system)
    fake = bus.fake(tomodachi_system)
    svc.expect_errors(ThingFailed)
    await fake.publish(DESTINATION, {"fail": "once"})
    await tomodachi_system.run_until_idle()

    assert [d.data for d in fake.dead_letters(bus.queue)] == [{"fail": "once"}]
    assert fake.dead_letters(bus.dead_letter_queue) == fake.dead_letters(bus.queue)  # where it was kept, too
    assert [d.data for d in fake.dead_letters()] == [{"fail": "once"}]  # still there: reading is not taking

    with pytest.raises(KeyError, match="declared queues"):  # a typo is an error, never a vacuous []
        fake.take_dead_letters("another-queue")
    assert [d.data for d in fake.take_dead_letters(bus.queue)] == [{"fail": "once"}]
    assert fake.dead_letters() == []
    assert fake.take_dead_letters() == []


async def test_dead_letters_of_one_bus_are_not_listed_by_the_other(tomodachi_system: TestSystem) -> None:
    await tomodachi_system.start(AmqpThings)
    tomodachi_system.expect_errors(ThingFailed)

    await tomodachi_system.fake_amqp.publish(DESTINATION, {"fail": "amqp only"})
    await tomodachi_system.run_until_idle()

    assert tomodachi_system.fake_sns_sqs.dead_letters() == []
    assert tomodachi_system.fake_sns_sqs.take_dead_letters() == []
    assert [d.data for d in tomodachi_system.fake_amqp.take_dead_letters()] == [{"fail": "amqp only"}]


async def test_expect_dead_letters_takes_a_queue_name_or_none(tomodachi_system: TestSystem, bus: Bus) -> None:
    fake = bus.fake(tomodachi_system)
    with pytest.raises(TypeError, match="queue"):
        fake.expect_dead_letters(3)  # type: ignore[arg-type]


# -- fault injection -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        ({"times": 0}, ValueError),
        ({"times": -2}, ValueError),
        ({"times": "3"}, TypeError),
        ({"times": True}, TypeError),
        ({"times": 1, "exc": 3}, TypeError),
        ({"times": 1, "exc": "boom"}, TypeError),
        ({"times": 1, "exc": int}, TypeError),
    ],
    ids=["zero", "negative", "str", "bool", "int-exc", "str-exc", "non-exception-class"],
)
async def test_fail_next_publishes_validates_its_arguments_at_once(
    tomodachi_system: TestSystem, bus: Bus, arguments: dict[str, Any], error: type[Exception]
) -> None:
    fake = bus.fake(tomodachi_system)

    with pytest.raises(error):
        fake.fail_next_publishes(**arguments)

    record = await fake.publish("after.a.refused.call", 1)  # nothing was armed by the refused call
    assert fake.published() == [record]


async def test_fail_next_publishes_fails_exactly_the_next_times_publishes(
    tomodachi_system: TestSystem, bus: Bus
) -> None:
    fake = bus.fake(tomodachi_system)
    fake.fail_next_publishes(2)

    for attempt in (1, 2):
        with pytest.raises(Exception, match="injected publish failure"):
            await fake.publish("flaky.publish", attempt)
    record = await fake.publish("flaky.publish", 3)

    assert fake.published() == [record]


async def test_fail_next_publishes_raises_the_given_exception_class_or_instance(
    tomodachi_system: TestSystem, bus: Bus
) -> None:
    fake = bus.fake(tomodachi_system)
    instance = ConnectionResetError("wire cut")
    fake.fail_next_publishes(1, exc=TimeoutError)
    fake.fail_next_publishes(1, exc=instance)

    with pytest.raises(TimeoutError):
        await fake.publish("flaky.publish", 1)
    with pytest.raises(ConnectionResetError) as info:
        await fake.publish("flaky.publish", 2)

    assert info.value is instance
    assert fake.published() == []


async def test_fail_next_publishes_applies_to_a_service_publish(tomodachi_system: TestSystem, bus: Bus) -> None:
    svc = await bus.start(tomodachi_system)
    fake = bus.fake(tomodachi_system)
    fake.fail_next_publishes(bus.publish_attempts, exc=ThingFailed("broker down"))

    with pytest.raises(Exception, match="broker down"):  # SNS+SQS wraps it after its retries
        await svc.instance.announce({"n": 1})
    await svc.instance.announce({"n": 2})

    assert [p.data for p in fake.published("thing.announced")] == [{"n": 2}]


# -- idleness ------------------------------------------------------------------------------------------------------


async def test_is_idle_is_false_while_a_message_waits_for_its_handler(tomodachi_system: TestSystem, bus: Bus) -> None:
    svc = await bus.start(tomodachi_system)
    fake = bus.fake(tomodachi_system)
    assert fake.is_idle()

    await fake.publish(DESTINATION, {"n": 1})
    assert not fake.is_idle()

    await fake.settle()
    assert fake.is_idle()
    assert svc.instance.received == [{"n": 1}]
