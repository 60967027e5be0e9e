"""Untrusted publishers on a real RabbitMQ: a message carrying another user's ``user_id`` is retried and
dead-lettered like any other, never looping; its retry and dead-letter copies carry no ``user_id`` RabbitMQ
would refuse from our connection."""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Iterator
from typing import Any

import aioamqp
import pytest
from amqp_support import AMQP_HOST, AMQP_PORT, Counter, Names, Probe

import tomodachi
from tomodachi.envelope import JsonBase
from tomodachi.messaging.pipeline import ErrorPolicy
from tomodachi.testing.harness import ServiceHarness

FAST_RETRY = ErrorPolicy(max_attempts=3, initial_delay=0.2, multiplier=2, max_delay=1)


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", *args], check=True, capture_output=True, timeout=60)


@pytest.fixture
def other_user(rabbitmq: tuple[str, int]) -> Iterator[tuple[str, str]]:
    """A second RabbitMQ user, allowed everything on the default vhost, removed afterwards."""
    user, password = f"itest-other-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    try:
        _rabbitmqctl("add_user", user, password)
        _rabbitmqctl("set_permissions", "-p", "/", user, ".*", ".*", ".*")
    except (OSError, subprocess.SubprocessError) as exc:
        pytest.skip(f"cannot add a RabbitMQ user with rabbitmqctl ({exc})")
    try:
        yield user, password
    finally:
        subprocess.run(["rabbitmqctl", "delete_user", user], capture_output=True, timeout=60)


async def test_a_failing_message_with_another_users_user_id_is_dead_lettered_not_looped(
    real_harness: ServiceHarness, names: Names, probe: Probe, other_user: tuple[str, str]
) -> None:
    calls = Counter()

    class Failing(tomodachi.Service):
        name = "failing-user-id"
        message_envelope = JsonBase
        message_error_policy = FAST_RETRY

        @tomodachi.amqp("work.user", queue_name="user")
        async def handler(self, data: Any) -> None:
            calls.add(time.monotonic())
            raise RuntimeError("always fails")

    svc = await real_harness.start(Failing, options=names.options())
    svc.expect_errors(RuntimeError)
    real_harness.fake("amqp").expect_dead_letters()
    user, password = other_user
    transport, protocol = await aioamqp.connect(AMQP_HOST, AMQP_PORT, login=user, password=password)
    try:
        channel = await protocol.channel()
        body = await JsonBase.build_message(svc.instance, "work.user", {"order": 1})
        # RabbitMQ accepts a user_id equal to the publishing connection's user
        await channel.basic_publish(
            body.encode(), names.exchange, "work.user", properties={"user_id": user, "delivery_mode": 2}
        )
    finally:
        await protocol.close()
        transport.close()

    dead_body, properties = await probe.get(f"{names.queue_prefix}user.dlq")
    assert len(calls.items) == 3  # three attempts, then the dead letter: no loop
    assert properties.headers["x-tomodachi-delivery-count"] == 3
    assert properties.headers["x-tomodachi-original-user-id"] == user  # kept, as a header nobody can refuse
    assert properties.user_id is None


async def test_forged_bookkeeping_headers_are_ignored(real_harness: ServiceHarness, names: Names, probe: Probe) -> None:
    seen = Counter()

    class Admin(tomodachi.Service):
        name = "forged-headers"
        message_envelope = JsonBase
        message_error_policy = FAST_RETRY

        @tomodachi.amqp("orders.#", queue_name="orders")
        async def handler(self, data: Any, routing_key: str) -> None:
            seen.add(routing_key)
            if len(seen.items) == 1:
                raise RuntimeError("the first attempt fails")

    svc = await real_harness.start(Admin, options=names.options())
    svc.expect_errors(RuntimeError)
    body = await JsonBase.build_message(svc.instance, "orders.public", {"order": 2})
    forged = {"x-tomodachi-routing-key": "orders.admin", "x-tomodachi-exchange": "amq.topic", "x-tomodachi-attempt": 99}
    await probe.ensure()
    await probe.channel.basic_publish(
        body.encode(), names.exchange, "orders.public", properties={"headers": forged, "delivery_mode": 2}
    )
    await seen.wait_count(2, "the retried message")
    # the handler saw the key the message was published with, and the first failure was retried, not dead-lettered
    assert seen.items == ["orders.public", "orders.public"]
    assert await probe.message_count(f"{names.queue_prefix}orders.dlq") == 0
