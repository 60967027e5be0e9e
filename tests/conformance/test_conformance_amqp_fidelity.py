"""AMQP fidelity: what a handler, and a test through ``tomodachi.testing``, observes on the in-memory RabbitMQ
and on a real one (``--tomodachi-wire=real``) — properties, headers and order, not just delivery.

Each scenario asserts the same thing on both wires. Where the wires differ, it is a strict xfail on the wire
that differs (``wire_difference``), with the values each wire shows in its reason.
"""

from __future__ import annotations

import re
import time

import pytest

import tomodachi
from tests.conformance.kit import REAL_WAIT, LetTimePass
from tomodachi.envelope import JsonBase
from tomodachi.messaging.amqp.descriptors import AmqpProperties
from tomodachi.messaging.pipeline import ErrorPolicy
from tomodachi.testing import FakeAmqp, ServiceFactory

RETRY_AT_ONCE = ErrorPolicy(max_attempts=3, initial_delay=0.0, multiplier=1.0, max_delay=0.0)
RETRY_AFTER_200_MS = ErrorPolicy(max_attempts=2, initial_delay=0.2, multiplier=1.0, max_delay=0.2)
ONE_AT_A_TIME = {"amqp.qos.queue_prefetch_count": 1}  # later messages wait on the queue, not in the consumer


# ---- what a test's publish puts in the properties ----------------------------------------------------------


class RawReader(tomodachi.Service):
    name = "fidelity-raw-reader"

    @tomodachi.amqp("fidelity.raw", queue_name="fidelity-raw", message_envelope=None)
    async def read(self, data: str, properties: AmqpProperties) -> None:
        pass


class RawSender(tomodachi.Service):
    """Publishes the same raw text as the test does, the way every service does."""

    name = "fidelity-raw-sender"
    message_envelope = JsonBase

    @tomodachi.amqp("fidelity.send-raw", queue_name="fidelity-send-raw")
    async def send(self, data: str) -> None:
        await tomodachi.amqp_publish(self, data, routing_key="fidelity.raw", message_envelope=None)


# in memory, fake_amqp.publish used to label raw text content_type='text/plain' (fixed: it now builds the
# properties as amqp_publish does, tomodachi/testing/fakes/amqp_publication.py)
async def test_raw_text_from_the_test_has_the_content_type_a_service_gives_it(
    tomodachi_service: ServiceFactory, fake_amqp: FakeAmqp
) -> None:
    reader = await tomodachi_service(RawReader)
    await tomodachi_service(RawSender)
    await fake_amqp.publish("fidelity.send-raw", "from a service")
    await fake_amqp.settle()
    await reader.wait_for_call("read", timeout=REAL_WAIT)  # the queue is FIFO: the service's text came first
    await fake_amqp.publish("fidelity.raw", "from the test", envelope=None)
    await fake_amqp.settle()
    await reader.wait_for_call("read", count=2, timeout=REAL_WAIT)

    seen = [(call.data, call.arguments["properties"].content_type) for call in reader.calls("read")]
    assert seen == [
        ("from a service", "text/plain; charset=utf-8"),
        ("from the test", "text/plain; charset=utf-8"),
    ]


class JsonReader(tomodachi.Service):
    name = "fidelity-json-reader"

    @tomodachi.amqp("fidelity.raw-json", queue_name="fidelity-raw-json", message_envelope=None)
    async def read(self, data: str, properties: AmqpProperties) -> None:
        pass


# on the real wire, fake_amqp.publish(data, envelope=None) used to go through amqp_publish, which refuses data
# that is not str/bytes (TypeError) (fixed: both wires build the message with publication_from_test)
async def test_a_raw_publish_of_a_dict_from_the_test_is_sent_as_json(
    tomodachi_service: ServiceFactory, fake_amqp: FakeAmqp
) -> None:
    reader = await tomodachi_service(JsonReader)
    refused: TypeError | None = None
    try:
        await fake_amqp.publish("fidelity.raw-json", {"n": 1}, envelope=None)
    except TypeError as exc:  # an assertion, not an error: the refusal is what this scenario pins
        refused = exc
    assert refused is None, f"the raw publish of a dict was refused: {refused}"
    [call] = await reader.wait_for_call("read", timeout=REAL_WAIT)
    assert call.data == '{"n": 1}'


async def test_a_test_publish_carries_a_message_id_a_timestamp_its_headers_and_given_properties(
    tomodachi_service: ServiceFactory, fake_amqp: FakeAmqp
) -> None:
    svc = await tomodachi_service(RawReader)
    before = time.time()
    await fake_amqp.publish("fidelity.raw", "plain", envelope=None, attributes={"tenant": "acme"})
    given = AmqpProperties(content_type="text/csv", correlation_id="c-7", headers={"kind": "report"})
    await fake_amqp.publish("fidelity.raw", "a,b", envelope=None, attributes={"tenant": "acme"}, properties=given)
    first, second = (call.arguments["properties"] for call in await svc.wait_for_call("read", 2, timeout=REAL_WAIT))

    # as a service's amqp_publish: a uuid as 32 hex digits, the publish time in whole seconds, the headers
    assert first.message_id is not None and re.fullmatch("[0-9a-f]{32}", first.message_id)
    assert first.timestamp is not None and int(before) - 1 <= first.timestamp <= time.time() + 1
    assert (first.headers, first.delivery_mode) == ({"tenant": "acme"}, 2)
    # given properties are sent as they are, the attributes joining their headers
    assert (second.content_type, second.correlation_id) == ("text/csv", "c-7")
    assert second.headers == {"kind": "report", "tenant": "acme"}


# ---- retried copies: where they go, what they say ----------------------------------------------------------


class OrderTaker(tomodachi.Service):
    """Takes orders from a named queue one at a time; the first receive of order "a" fails and is retried at once."""

    name = "fidelity-order-taker"
    message_envelope = JsonBase
    message_error_policy = RETRY_AT_ONCE

    failed: bool = False  # set on the instance once order "a" has failed

    @tomodachi.amqp("fidelity.order", queue_name="fidelity-orders")
    async def take(self, data: str, routing_key: str, exchange_name: str) -> None:
        if data == "a" and not self.failed:
            self.failed = True
            raise RuntimeError("order a fails its first receive")


class NextOrderTaker(OrderTaker):
    """A later consumer of the same named queue (its own class: its own uuid)."""

    name = "fidelity-next-order-taker"


async def test_a_message_retried_at_once_goes_behind_the_messages_already_waiting(
    tomodachi_service: ServiceFactory, fake_amqp: FakeAmqp
) -> None:
    first = await tomodachi_service(OrderTaker, options=ONE_AT_A_TIME)
    await first.stop()  # the named queue stays; what is published now waits on it
    for order in "abcd":
        await fake_amqp.publish("fidelity.order", order)
    taker = await tomodachi_service(NextOrderTaker, options=ONE_AT_A_TIME)
    await fake_amqp.settle()
    await taker.wait_for_call("take", count=5, timeout=REAL_WAIT)
    await fake_amqp.settle()

    calls = taker.calls("take")
    # the retry is a copy published to the back of the queue (RabbitMQ's nack-requeue would put it first)
    assert [call.data for call in calls] == ["a", "b", "c", "d", "a"]
    retried = calls[-1]
    assert (retried.exception, retried.arguments["routing_key"], retried.arguments["exchange_name"]) == (
        None,
        "fidelity.order",
        "amq.topic",
    )  # as published, although the copy went through the default exchange
    assert [str(exc) for exc in taker.take_errors()] == ["order a fails its first receive"]


class DelayedRetrier(tomodachi.Service):
    name = "fidelity-delayed-retrier"
    message_envelope = JsonBase
    message_error_policy = RETRY_AFTER_200_MS

    @tomodachi.amqp("fidelity.retry", queue_name="fidelity-retry")
    async def handle(self, data: str, properties: AmqpProperties) -> None:
        if not properties.headers.get("x-tomodachi-attempt"):
            raise RuntimeError("fails its first receive")


@pytest.mark.wire_difference(
    "real",
    reason="on the real wire the retry queue in x-death / x-first-death-queue carries the per-test queue prefix "
    "the harness adds ('t1a2b3c4d5e-fidelity-retry.retry.200ms'), which wires.py promises tests never see",
)
async def test_a_delayed_retry_names_the_retry_queue_as_the_service_declared_it(
    tomodachi_service: ServiceFactory, fake_amqp: FakeAmqp, let_time_pass: LetTimePass
) -> None:
    svc = await tomodachi_service(DelayedRetrier)
    await fake_amqp.publish("fidelity.retry", "x")
    await fake_amqp.settle()
    await svc.wait_for_call("handle", timeout=REAL_WAIT)
    await let_time_pass(0.2)
    first, second = await svc.wait_for_call("handle", count=2, timeout=REAL_WAIT)
    assert [str(exc) for exc in svc.take_errors()] == ["fails its first receive"]

    headers = second.arguments["properties"].headers
    assert headers["x-tomodachi-attempt"] == 1
    [death] = headers["x-death"]
    assert (death["queue"], death["reason"], death["count"]) == ("fidelity-retry.retry.200ms", "expired", 1)
    assert headers["x-first-death-queue"] == "fidelity-retry.retry.200ms"
