"""AMQP conformance: the same scenarios on the in-memory RabbitMQ and on a real one (``--tomodachi-wire=real``).

Ack, retry with back-off then dead-lettering to ``<queue>.dlq``, competing vs per-instance queues, and topic
routing patterns. Where the wires differ, the scenario is a strict xfail on one wire and listed in
docs/conformance.md.
"""

from __future__ import annotations

from datetime import timedelta
from itertools import pairwise
from typing import Any

import pytest

import tomodachi
from tests.conformance.kit import REAL_WAIT, LetTimePass
from tomodachi.envelope import JsonBase
from tomodachi.messaging.amqp.descriptors import AmqpProperties
from tomodachi.messaging.pipeline import ErrorPolicy
from tomodachi.testing import FakeAmqp, ServiceFactory

# three receives, 0.2 s then 0.4 s apart: fast enough for a real RabbitMQ, visible on the virtual clock
FAST_RETRY = ErrorPolicy(max_attempts=3, initial_delay=0.2, multiplier=2.0, max_delay=1.0)


# ---- ack --------------------------------------------------------------------------------------------------


class Acker(tomodachi.Service):
    name = "conformance-acker"
    message_envelope = JsonBase

    @tomodachi.amqp("conformance.ack", queue_name="conformance-ack")
    async def handle(self, data: dict[str, Any]) -> None:
        pass


class NextAcker(Acker):
    """A later consumer of the same named queue (its own class: its own uuid)."""

    name = "conformance-next-acker"


async def test_a_handled_message_is_acked_and_not_delivered_again(
    tomodachi_service: ServiceFactory, fake_amqp: FakeAmqp
) -> None:
    first = await tomodachi_service(Acker)
    await fake_amqp.publish("conformance.ack", {"n": 1})
    [handled] = await first.wait_for_call("handle", timeout=REAL_WAIT)
    assert (handled.data, handled.exception) == ({"n": 1}, None)
    await first.stop()  # had the message not been acked, the broker would now put it back on the queue

    second = await tomodachi_service(NextAcker)
    await fake_amqp.publish("conformance.ack", {"n": 2})
    [next_call] = await second.wait_for_call("handle", timeout=REAL_WAIT)
    assert next_call.data == {"n": 2}  # the queue is FIFO: an unacked {"n": 1} would have come first
    await fake_amqp.settle()
    assert [call.data for call in second.calls("handle")] == [{"n": 2}]
    assert len(first.calls("handle")) == 1
    assert fake_amqp.dead_letters() == []


# ---- retry, then dead-letter ------------------------------------------------------------------------------


class Failer(tomodachi.Service):
    name = "conformance-failer"
    message_envelope = JsonBase
    message_error_policy = FAST_RETRY

    @tomodachi.amqp("conformance.fail", queue_name="conformance-fail")
    async def handle(self, data: dict[str, Any], properties: AmqpProperties) -> None:
        raise RuntimeError(f"cannot handle order {data['order']}")


async def test_a_failing_message_is_retried_with_back_off_then_dead_lettered(
    tomodachi_service: ServiceFactory, fake_amqp: FakeAmqp, let_time_pass: LetTimePass
) -> None:
    svc = await tomodachi_service(Failer)
    await fake_amqp.publish("conformance.fail", {"order": 7})
    await fake_amqp.settle()
    await svc.wait_for_call("handle", count=1, timeout=REAL_WAIT)
    await let_time_pass(0.2)
    await svc.wait_for_call("handle", count=2, timeout=REAL_WAIT)
    await let_time_pass(0.4)
    await svc.wait_for_call("handle", count=3, timeout=REAL_WAIT)
    await fake_amqp.settle()

    calls = svc.calls("handle")
    assert [call.data for call in calls] == [{"order": 7}] * 3  # three receives, then no more
    assert len({call.arguments["properties"].message_id for call in calls}) == 1  # one message, redelivered
    first_gap, second_gap = (later.time - earlier.time for earlier, later in pairwise(calls))
    assert first_gap >= timedelta(seconds=0.2) and second_gap >= timedelta(seconds=0.4)  # the back-off held it

    [dead] = fake_amqp.take_dead_letters()
    assert dead.data == {"order": 7}
    assert dead.reason == "handler handle failed 3 time(s): RuntimeError: cannot handle order 7"
    assert (dead.receive_count, dead.kept, dead.handler) == (3, True, "conformance-failer.handle")
    assert [str(exc) for exc in svc.take_errors()] == ["cannot handle order 7"] * 3


async def test_a_dead_letter_names_the_queue_it_failed_on_and_its_dlq(
    tomodachi_service: ServiceFactory, fake_amqp: FakeAmqp
) -> None:
    svc = await tomodachi_service(Failer)
    await fake_amqp.publish("conformance.fail", "not json", envelope=None)  # unparseable: dead-lettered at once
    await fake_amqp.settle()

    assert svc.calls("handle") == []
    dead_letters = fake_amqp.take_dead_letters("conformance-fail")
    fake_amqp.expect_dead_letters()  # on whichever queue name it was recorded
    assert [(d.queue, d.dead_letter_queue) for d in dead_letters] == [("conformance-fail", "conformance-fail.dlq")]


async def test_a_retried_message_shows_the_handler_how_often_it_was_received(
    tomodachi_service: ServiceFactory, fake_amqp: FakeAmqp, let_time_pass: LetTimePass
) -> None:
    svc = await tomodachi_service(Failer)
    svc.expect_errors(RuntimeError)
    fake_amqp.expect_dead_letters()
    await fake_amqp.publish("conformance.fail", {"order": 9})
    await fake_amqp.settle()
    await let_time_pass(0.6)
    calls = await svc.wait_for_call("handle", count=3, timeout=REAL_WAIT)

    attempts = [call.arguments["properties"].headers.get("x-tomodachi-attempt") for call in calls]
    assert attempts == [None, 1, 2]


# ---- competing consumers vs per-instance queues ------------------------------------------------------------


class Worker(tomodachi.Service):
    name = "conformance-worker"
    message_envelope = JsonBase

    @tomodachi.amqp("conformance.job", competing=True)  # one queue shared by every instance
    async def job(self, data: int) -> None:
        pass

    @tomodachi.amqp("conformance.event")  # one queue per instance
    async def event(self, data: int) -> None:
        pass


class OtherWorker(Worker):
    """Another instance of the worker (a class of its own: its own uuid, so its own per-instance queue)."""

    name = "conformance-other-worker"


async def test_competing_consumers_share_one_queue_while_per_instance_queues_each_get_every_message(
    tomodachi_service: ServiceFactory, fake_amqp: FakeAmqp
) -> None:
    first = await tomodachi_service(Worker)
    second = await tomodachi_service(OtherWorker)
    for n in range(10):
        await fake_amqp.publish("conformance.job", n)
    for n in range(3):
        await fake_amqp.publish("conformance.event", n)
    await fake_amqp.settle()
    await first.wait_for_call("event", count=3, timeout=REAL_WAIT)
    await second.wait_for_call("event", count=3, timeout=REAL_WAIT)

    jobs_of_first = [call.data for call in first.calls("job")]
    jobs_of_second = [call.data for call in second.calls("job")]
    assert sorted(jobs_of_first + jobs_of_second) == list(range(10))  # each job once, in total
    assert jobs_of_first and jobs_of_second  # both instances took a share
    assert [call.data for call in first.calls("event")] == [0, 1, 2]  # every event to each instance
    assert [call.data for call in second.calls("event")] == [0, 1, 2]


# ---- topic routing patterns -------------------------------------------------------------------------------


class Router(tomodachi.Service):
    name = "conformance-router"
    message_envelope = JsonBase

    @tomodachi.amqp("conformance.*.created")  # '*': exactly one word
    async def one_word(self, data: int, routing_key: str) -> None:
        pass

    @tomodachi.amqp("conformance.#")  # '#': zero or more words
    async def any_words(self, data: int, routing_key: str) -> None:
        pass


async def test_routing_key_patterns_match_one_word_or_any_number_of_words(
    tomodachi_service: ServiceFactory, fake_amqp: FakeAmqp
) -> None:
    svc = await tomodachi_service(Router)
    for n, key in enumerate(
        [
            "conformance.eu.created",  # both
            "conformance.eu.west.created",  # '#' only: '*' is one word
            "conformance",  # '#' only: zero further words
            "conformance.eu.updated",  # '#' only
            "other.eu.created",  # neither
            "conformance.us.created",  # both; last, so once it is seen the earlier ones were (FIFO per queue)
        ]
    ):
        await fake_amqp.publish(key, n)
    await fake_amqp.settle()
    await svc.wait_for_call("one_word", count=2, timeout=REAL_WAIT)
    await svc.wait_for_call("any_words", count=5, timeout=REAL_WAIT)

    assert [(call.data, call.arguments["routing_key"]) for call in svc.calls("one_word")] == [
        (0, "conformance.eu.created"),
        (5, "conformance.us.created"),
    ]
    assert [(call.data, call.arguments["routing_key"]) for call in svc.calls("any_words")] == [
        (0, "conformance.eu.created"),
        (1, "conformance.eu.west.created"),
        (2, "conformance"),
        (3, "conformance.eu.updated"),
        (5, "conformance.us.created"),
    ]


@pytest.mark.wire_difference("real", reason="RabbitMQ does not say which queues a publish reached: delivered_to is ()")
async def test_a_publish_says_which_queues_it_reached(tomodachi_service: ServiceFactory, fake_amqp: FakeAmqp) -> None:
    await tomodachi_service(Acker)
    routed = await fake_amqp.publish("conformance.ack", {"n": 1})
    unrouted = await fake_amqp.publish("conformance.nobody", {"n": 2})
    assert (routed.delivered_to, unrouted.delivered_to) == (("conformance-ack",), ())
