"""Handler call records (HTTP, AMQP, SNS+SQS, scheduled) and wait_for_call()."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

import tomodachi
from tomodachi.envelope import JsonBase
from tomodachi.messaging.pipeline import ErrorPolicy
from tomodachi.testing import FakeAmqp, FakeSnsSqs, HandlerCall, ServiceFactory, TestSystem, VirtualClock


class Declined(Exception):
    pass


class Shop(tomodachi.Service):
    name = "shop"
    message_envelope = JsonBase
    message_error_policy = ErrorPolicy(max_attempts=3, initial_delay=60)

    def __init__(self) -> None:
        self.fail_first = False
        self.seen: list[Any] = []

    @tomodachi.http("GET", r"/items/(?P<item_id>\w+)")
    async def get_item(self, request: Any, item_id: str) -> str:
        return f"item {item_id}"

    @tomodachi.http("POST", r"/declined")
    async def decline(self, request: Any) -> str:
        raise Declined("no")

    @tomodachi.amqp("order.*", queue_name="shop-orders")
    async def on_order(self, data: Any, routing_key: str) -> dict[str, Any]:
        self.seen.append(data)
        if self.fail_first and len(self.seen) == 1:
            raise Declined(f"first try of {data}")
        return {"accepted": data}

    @tomodachi.aws_sns_sqs("refund.requested", queue_name="shop-refunds")
    async def on_refund(self, data: Any, topic: str, message_attributes: dict[str, Any]) -> None:
        self.seen.append(data)

    @tomodachi.schedule(interval="every 15 minutes")
    async def report(self) -> int:
        return len(self.seen)

    async def helper(self) -> None:
        """A plain method: not a handler."""


# -- call records --------------------------------------------------------------------------------------------------


async def test_http_calls_record_arguments_by_name_and_the_result_at_virtual_time(
    tomodachi_service: ServiceFactory, virtual_clock: VirtualClock
) -> None:
    svc = await tomodachi_service(Shop)
    await virtual_clock.advance("3 hours")

    response = await svc.http.get("/items/abc")
    assert response.status == 200

    [call] = svc.calls("get_item")
    assert isinstance(call, HandlerCall)
    assert call.arguments["item_id"] == "abc"
    assert call.arguments["request"].path == "/items/abc"
    assert (call.result, call.exception) == ("item abc", None)
    assert call.time == virtual_clock.now()
    assert (call.service, call.handler, call.transport) == ("shop", "get_item", "http")


async def test_http_calls_record_the_exception_a_handler_raised(tomodachi_service: ServiceFactory) -> None:
    svc = await tomodachi_service(Shop)

    response = await svc.http.post("/declined")
    assert response.status == 500

    [call] = svc.calls("decline")
    assert isinstance(call.exception, Declined)
    assert call.result is None
    assert svc.take_errors() == [call.exception]


async def test_amqp_calls_record_data_and_injected_values(
    tomodachi_service: ServiceFactory, fake_amqp: FakeAmqp
) -> None:
    svc = await tomodachi_service(Shop)

    await fake_amqp.publish("order.created", {"id": 1})
    await fake_amqp.settle()

    [call] = svc.calls("on_order")
    assert call.arguments == {"data": {"id": 1}, "routing_key": "order.created"}
    assert call.data == {"id": 1}
    assert call.result == {"accepted": {"id": 1}}
    assert call.transport == "amqp"


async def test_sns_sqs_calls_record_data_and_injected_values(
    tomodachi_service: ServiceFactory, fake_sns_sqs: FakeSnsSqs, virtual_clock: VirtualClock
) -> None:
    svc = await tomodachi_service(Shop)

    await fake_sns_sqs.publish("refund.requested", {"id": 2}, attributes={"reason": "broken"})
    await fake_sns_sqs.settle()

    [call] = svc.calls("on_refund")
    assert call.data == {"id": 2}
    assert call.arguments["topic"] == "refund.requested"
    assert call.arguments["message_attributes"] == {"reason": "broken"}
    assert (call.result, call.exception, call.time) == (None, None, virtual_clock.now())


async def test_scheduled_calls_are_recorded_at_the_virtual_times_they_ran(
    tomodachi_service: ServiceFactory, fake_amqp: FakeAmqp, virtual_clock: VirtualClock
) -> None:
    svc = await tomodachi_service(Shop)
    start = virtual_clock.now()
    await fake_amqp.publish("order.created", {"id": 3})
    await fake_amqp.settle()

    await virtual_clock.advance("31 minutes")

    calls = svc.calls("report")
    assert [c.time for c in calls] == [start + timedelta(minutes=15), start + timedelta(minutes=30)]
    assert [c.result for c in calls] == [1, 1]
    assert calls[0].arguments == {}


async def test_a_failing_message_handler_call_records_its_exception(
    tomodachi_service: ServiceFactory, fake_amqp: FakeAmqp, virtual_clock: VirtualClock
) -> None:
    svc = await tomodachi_service(Shop)
    svc.instance.fail_first = True
    start = virtual_clock.now()

    await fake_amqp.publish("order.created", "o-1")
    await fake_amqp.run_until_idle()

    first, second = svc.calls("on_order")
    assert isinstance(first.exception, Declined) and first.result is None
    assert second.exception is None and second.result == {"accepted": "o-1"}
    assert (first.time, second.time) == (start, start + timedelta(seconds=60))
    assert svc.take_errors() == [first.exception]


async def test_calls_of_a_handler_not_called_yet_is_empty(tomodachi_service: ServiceFactory) -> None:
    svc = await tomodachi_service(Shop)
    assert svc.calls("on_refund") == []


async def test_calls_are_kept_per_handler_and_service(tomodachi_system: TestSystem, fake_amqp: FakeAmqp) -> None:
    svc = await tomodachi_system.start(Shop)

    await fake_amqp.publish("order.created", "o-2")
    await tomodachi_system.settle()

    assert tomodachi_system.calls("shop", "on_order") == svc.calls("on_order") != []
    assert svc.calls("on_refund") == []


@pytest.mark.parametrize(
    ("name", "suggestion"),
    [("on_ordr", "on_order"), ("get_items", "get_item"), ("reprot", "report")],
)
async def test_calls_of_an_unknown_handler_is_a_value_error_with_a_suggestion(
    tomodachi_service: ServiceFactory, name: str, suggestion: str
) -> None:
    svc = await tomodachi_service(Shop)

    with pytest.raises(ValueError) as info:
        svc.calls(name)

    message = str(info.value)
    assert repr(name) in message
    assert message.endswith(f"Did you mean {suggestion!r}?")


async def test_calls_of_a_plain_method_is_a_value_error_listing_the_handlers(
    tomodachi_service: ServiceFactory,
) -> None:
    svc = await tomodachi_service(Shop)

    with pytest.raises(ValueError) as info:
        svc.calls("helper")

    assert "on_order" in str(info.value) and "report" in str(info.value)
    assert "Did you mean" not in str(info.value)


# -- wait_for_call -------------------------------------------------------------------------------------------------


async def test_wait_for_call_settles_until_the_handler_was_called_count_times(
    tomodachi_service: ServiceFactory, fake_amqp: FakeAmqp, fake_sns_sqs: FakeSnsSqs, virtual_clock: VirtualClock
) -> None:
    svc = await tomodachi_service(Shop)
    start = virtual_clock.now()

    await fake_amqp.publish("order.created", "o-3")
    await fake_amqp.publish("order.updated", "o-4")
    calls = await svc.wait_for_call("on_order", count=2, timeout=5)

    assert [c.data for c in calls] == ["o-3", "o-4"]
    assert virtual_clock.now() == start


async def test_wait_for_call_waits_for_a_call_made_by_a_background_task(
    tomodachi_service: ServiceFactory, fake_sns_sqs: FakeSnsSqs
) -> None:
    svc = await tomodachi_service(Shop)
    ready = asyncio.Event()

    async def publish_later() -> None:
        await ready.wait()
        await fake_sns_sqs.publish("refund.requested", "r-1")

    task = asyncio.ensure_future(publish_later())
    asyncio.get_running_loop().call_soon(ready.set)
    [call] = await svc.wait_for_call("on_refund", timeout=5)
    await task

    assert call.data == "r-1"


async def test_wait_for_call_times_out_naming_the_calls_that_wait_on_the_virtual_clock(
    tomodachi_service: ServiceFactory, fake_amqp: FakeAmqp, virtual_clock: VirtualClock
) -> None:
    svc = await tomodachi_service(Shop)
    svc.instance.fail_first = True
    start = virtual_clock.now()
    await fake_amqp.publish("order.created", "o-5")

    with pytest.raises(TimeoutError) as info:
        await svc.wait_for_call("on_order", count=2, timeout=0.2)

    message = str(info.value)
    assert "shop.on_order was called 1 time(s)" in message
    assert "not 2" in message
    assert "virtual clock" in message
    assert "shop-orders" in message and "retry back-off" in message
    assert (start + timedelta(seconds=60)).isoformat() in message
    assert "run_until_idle()" in message
    assert virtual_clock.now() == start

    await virtual_clock.advance(60)
    assert len(await svc.wait_for_call("on_order", count=2, timeout=5)) == 2
    svc.take_errors()


async def test_wait_for_call_timeout_without_pending_work_says_how_many_calls_happened(
    tomodachi_service: ServiceFactory,
) -> None:
    svc = await tomodachi_service(Shop)

    with pytest.raises(TimeoutError) as info:
        await svc.wait_for_call("on_refund", timeout=0.05)

    assert "shop.on_refund was called 0 time(s)" in str(info.value)
    assert "virtual clock" not in str(info.value)


@pytest.mark.parametrize("count", [0, -1, True, 1.5])
async def test_wait_for_call_count_must_be_a_positive_int(tomodachi_service: ServiceFactory, count: Any) -> None:
    svc = await tomodachi_service(Shop)
    with pytest.raises(ValueError, match="count"):
        await svc.wait_for_call("on_order", count=count)


async def test_wait_for_call_of_an_unknown_handler_is_a_value_error(tomodachi_service: ServiceFactory) -> None:
    svc = await tomodachi_service(Shop)
    with pytest.raises(ValueError, match="Did you mean 'on_refund'"):
        await svc.wait_for_call("on_refnd")


class Slow(tomodachi.Service):
    name = "slow"
    message_envelope = JsonBase

    def __init__(self) -> None:
        self.release = asyncio.Event()

    @tomodachi.amqp("slow.work", queue_name="slow-work")
    async def work(self, data: Any) -> None:
        await self.release.wait()  # real work the virtual clock knows nothing of

    @tomodachi.amqp("slow.other", queue_name="slow-other")
    async def other(self, data: Any) -> None:
        pass


async def test_wait_for_call_timeout_while_a_handler_is_busy_says_how_many_calls_happened_and_what_is_busy(
    tomodachi_service: ServiceFactory, fake_amqp: FakeAmqp
) -> None:
    svc = await tomodachi_service(Slow)
    await fake_amqp.publish("slow.work", 1)

    with pytest.raises(TimeoutError) as info:
        await svc.wait_for_call("other", timeout=0.1)

    message = str(info.value)
    assert message.startswith("slow.other was called 0 time(s) within 0.1 s of real time, not 1; still busy")
    assert "slow-work" in message
    assert "give it a longer timeout" in message
    svc.instance.release.set()
    await fake_amqp.settle()


@pytest.mark.parametrize("timeout", [0, -1, "1 second", True])
async def test_wait_for_call_timeout_must_be_a_positive_number_of_seconds(
    tomodachi_service: ServiceFactory, timeout: Any
) -> None:
    svc = await tomodachi_service(Shop)
    with pytest.raises(ValueError, match="timeout is a positive number of real seconds"):
        await svc.wait_for_call("on_order", timeout=timeout)


class Gate(tomodachi.Service):
    name = "gate"
    message_envelope = JsonBase

    def __init__(self) -> None:
        self.opened = asyncio.Event()

    @tomodachi.amqp("gate.slow", queue_name="gate-slow")
    async def slow(self, data: Any) -> None:
        await self.opened.wait()  # waits on the test, in real time: settle() cannot see the end of it

    @tomodachi.amqp("gate.quick", queue_name="gate-quick")
    async def quick(self, data: Any) -> None:
        pass


async def test_wait_for_call_returns_once_the_call_happened_while_another_handler_waits_in_real_time(
    tomodachi_service: ServiceFactory, fake_amqp: FakeAmqp
) -> None:
    svc = await tomodachi_service(Gate)
    await fake_amqp.publish("gate.slow", 1)
    await fake_amqp.publish("gate.quick", 2)
    started = asyncio.get_running_loop().time()
    [call] = await svc.wait_for_call("quick", timeout=5)
    waited = asyncio.get_running_loop().time() - started
    svc.instance.opened.set()
    await svc.wait_for_call("slow", timeout=5)
    assert call.data == 2
    assert waited < 2  # not the whole timeout: the other handler still ran
