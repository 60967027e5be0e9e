"""The in-memory broker's retry copies carry what RabbitMQ's do: our signed bookkeeping headers, RabbitMQ's
``x-death`` record of the wait in a TTL queue, and a place at the back of the queue."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import tomodachi
from tomodachi.envelope.json_base import JsonBase
from tomodachi.messaging.amqp.descriptors import AmqpProperties
from tomodachi.messaging.error_policy import ErrorPolicy
from tomodachi.testing import FakeAmqp, ServiceFactory, TestSystem


class Flaky(tomodachi.Service):
    name = "flaky"
    message_envelope = JsonBase
    message_error_policy = ErrorPolicy(max_attempts=3, initial_delay=1.5, multiplier=1.0)

    @tomodachi.amqp("orders.placed", queue_name="orders")
    async def handle(self, data: dict[str, Any], properties: AmqpProperties) -> None:
        if data.get("fail"):
            raise RuntimeError("cannot handle it yet")


class RetriesAtOnce(Flaky):
    name = "retries-at-once"
    message_error_policy = ErrorPolicy(max_attempts=2, initial_delay=0.0)
    options = tomodachi.Options(**{"amqp.qos.queue_prefetch_count": 1})  # one at a time: the queue keeps the order


def _headers(calls: list[Any]) -> list[dict[str, Any]]:
    return [dict(call.arguments["properties"].headers) for call in calls]


async def test_a_retry_copy_carries_the_signed_attempt_and_where_it_was_first_published(
    tomodachi_service: ServiceFactory, fake_amqp: FakeAmqp, tomodachi_system: TestSystem
) -> None:
    svc = await tomodachi_service(Flaky)
    svc.expect_errors(RuntimeError)
    fake_amqp.expect_dead_letters("orders")
    await fake_amqp.publish("orders.placed", {"fail": True}, attributes={"tenant": "acme"})
    await tomodachi_system.run_until_idle()

    first, second, third = _headers(svc.calls("handle"))
    assert first == {"tenant": "acme"}
    for attempt, headers in ((1, second), (2, third)):
        assert headers["tenant"] == "acme"
        assert headers["x-tomodachi-attempt"] == attempt
        assert (headers["x-tomodachi-routing-key"], headers["x-tomodachi-exchange"]) == ("orders.placed", "amq.topic")
        assert isinstance(headers["x-tomodachi-signature"], str) and len(headers["x-tomodachi-signature"]) == 64


async def test_a_copy_that_waited_records_the_wait_in_x_death_counted_per_ttl_queue(
    tomodachi_service: ServiceFactory, fake_amqp: FakeAmqp, tomodachi_system: TestSystem
) -> None:
    svc = await tomodachi_service(Flaky)
    svc.expect_errors(RuntimeError)
    fake_amqp.expect_dead_letters("orders")
    start = tomodachi_system.clock.time()
    await fake_amqp.publish("orders.placed", {"fail": True})
    await tomodachi_system.run_until_idle()

    _, second, third = _headers(svc.calls("handle"))
    first_death = datetime.fromtimestamp(int(start + 1.5), tz=timezone.utc)
    entry = {
        "reason": "expired",
        "queue": "orders.retry.1500ms",
        "exchange": "",
        "routing-keys": ["orders.retry.1500ms"],
    }
    assert second["x-death"] == [{**entry, "count": 1, "time": first_death}]
    # the same TTL queue again: one entry, counted, still with the time of the first death
    assert third["x-death"] == [{**entry, "count": 2, "time": first_death}]
    for headers in (second, third):
        assert (headers["x-first-death-queue"], headers["x-first-death-reason"]) == ("orders.retry.1500ms", "expired")
        assert headers["x-first-death-exchange"] == ""


async def test_a_copy_retried_at_once_has_no_x_death_and_goes_behind_newer_messages(
    tomodachi_service: ServiceFactory, fake_amqp: FakeAmqp
) -> None:
    svc = await tomodachi_service(RetriesAtOnce)
    svc.expect_errors(RuntimeError)
    fake_amqp.expect_dead_letters("orders")
    await fake_amqp.publish("orders.placed", {"fail": True, "n": 1})
    await fake_amqp.publish("orders.placed", {"n": 2})
    await fake_amqp.settle()

    calls = svc.calls("handle")
    assert [call.arguments["data"]["n"] for call in calls] == [1, 2, 1]
    assert "x-death" not in calls[2].arguments["properties"].headers
    assert calls[2].arguments["properties"].headers["x-tomodachi-attempt"] == 1


async def test_bookkeeping_headers_a_publisher_wrote_never_reach_the_handler(
    tomodachi_service: ServiceFactory, fake_amqp: FakeAmqp
) -> None:
    svc = await tomodachi_service(Flaky)
    forged = {"x-tomodachi-attempt": 2, "x-tomodachi-routing-key": "orders.refunded", "x-tomodachi-signature": "0" * 64}
    await fake_amqp.publish("orders.placed", {"n": 1}, attributes={**forged, "tenant": "acme"})
    await fake_amqp.settle()

    [call] = svc.calls("handle")
    assert dict(call.arguments["properties"].headers) == {"tenant": "acme"}


async def test_a_retry_copy_drops_expiration_and_user_id_and_its_dead_letter_drops_the_bookkeeping(
    tomodachi_service: ServiceFactory, fake_amqp: FakeAmqp, tomodachi_system: TestSystem
) -> None:
    svc = await tomodachi_service(Flaky)
    svc.expect_errors(RuntimeError)
    fake_amqp.expect_dead_letters("orders")
    properties = AmqpProperties(content_type="application/json", expiration="60000", user_id="guest")
    await fake_amqp.publish("orders.placed", {"fail": True}, properties=properties)
    await tomodachi_system.run_until_idle()

    first, second, _ = (call.arguments["properties"] for call in svc.calls("handle"))
    assert (first.expiration, first.user_id) == ("60000", "guest")
    assert (second.expiration, second.user_id) == (None, None)
    assert second.headers["x-tomodachi-original-user-id"] == "guest"
    [kept] = fake_amqp.messages("orders.dlq")
    assert not any(name in kept.attributes for name in ("x-tomodachi-attempt", "x-tomodachi-signature"))
    assert kept.attributes["x-death"][0]["count"] == 2
