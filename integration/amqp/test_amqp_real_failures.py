"""Failures on a real RabbitMQ: retry with delay and attempt counting, dead-lettering to ``<queue>.dlq``,
and clear start-up errors (bad credentials, unreachable host → exit code 1)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from amqp_support import AMQP_HOST, AMQP_PORT, Counter, Names, Probe

import tomodachi
from tomodachi.envelope import JsonBase
from tomodachi.messaging.amqp.exceptions import AmqpConnectionException
from tomodachi.messaging.pipeline import ErrorPolicy
from tomodachi.runtime.clock import RealClock
from tomodachi.runtime.container import ServiceStartError
from tomodachi.testing.harness import ServiceHarness

FAST_RETRY = ErrorPolicy(max_attempts=3, initial_delay=0.2, multiplier=2, max_delay=1)


async def test_failing_handler_is_retried_with_delay_then_dead_lettered(
    real_harness: ServiceHarness, names: Names, probe: Probe
) -> None:
    calls = Counter()

    class Failing(tomodachi.Service):
        name = "failing"
        message_envelope = JsonBase
        message_error_policy = FAST_RETRY

        @tomodachi.amqp("work.fail", queue_name="fail")
        async def handler(self, data: Any) -> None:
            calls.add(time.monotonic())
            raise RuntimeError(f"cannot handle {data}")

    svc = await real_harness.start(Failing, options=names.options())
    svc.expect_errors(RuntimeError)
    await tomodachi.amqp_publish(svc.instance, {"order": 7}, routing_key="work.fail")

    body, properties = await probe.get(f"{names.queue_prefix}fail.dlq")
    assert len(calls.items) == 3
    gaps = [b - a for a, b in zip(calls.items, calls.items[1:], strict=False)]  # type: ignore[operator]
    assert gaps[0] >= 0.15 and gaps[1] >= 0.35, gaps  # 0.2 s then 0.4 s back-off, held by RabbitMQ
    assert json.loads(body)["data"] == {"order": 7}
    headers = properties.headers
    assert headers["x-tomodachi-delivery-count"] == 3
    assert headers["x-tomodachi-original-queue"] == f"{names.queue_prefix}fail"
    assert headers["x-tomodachi-original-routing-key"] == "work.fail"
    assert headers["x-tomodachi-original-exchange"] == names.exchange
    assert "RuntimeError: cannot handle" in headers["x-tomodachi-dead-letter-reason"]
    assert properties.delivery_mode == 2
    assert await probe.message_count(f"{names.queue_prefix}fail") == 0
    [lost] = real_harness.fake("amqp").take_dead_letters()  # taken, so teardown does not fail on it
    assert (lost.queue, lost.receive_count, lost.data) == (f"{names.queue_prefix}fail", 3, {"order": 7})


async def test_handler_that_recovers_sees_the_original_routing_key_and_no_dead_letter(
    real_harness: ServiceHarness, names: Names, probe: Probe
) -> None:
    calls = Counter()

    class Flaky(tomodachi.Service):
        name = "flaky"
        message_envelope = JsonBase
        message_error_policy = FAST_RETRY

        @tomodachi.amqp("work.*", queue_name="flaky")
        async def handler(self, data: Any, routing_key: str) -> None:
            calls.add(routing_key)
            if len(calls.items) < 3:
                raise ValueError("not yet")

    svc = await real_harness.start(Flaky, options=names.options())
    svc.expect_errors(ValueError)
    await tomodachi.amqp_publish(svc.instance, "x", routing_key="work.flaky")
    await calls.wait_count(3, "three attempts")
    assert calls.items == ["work.flaky"] * 3  # retried copies still carry the published key
    await svc.stop()
    assert await probe.message_count(f"{names.queue_prefix}flaky") == 0
    assert len(svc.take_errors()) == 2


class Nothing(tomodachi.Service):
    name = "nothing"

    @tomodachi.amqp("never")
    async def handler(self, data: Any) -> None:
        pass


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"amqp.password": "wrong-password"}, "wrong login/password"),
        ({"amqp.port": 1}, "ConnectionRefusedError"),
    ],
)
async def test_bad_credentials_or_unreachable_host_fail_the_start_quickly(
    names: Names, options: dict[str, Any], expected: str
) -> None:
    harness = ServiceHarness(RealClock())
    harness.environment.broker_factories.pop("amqp", None)
    started = time.monotonic()
    with pytest.raises(ServiceStartError) as info:
        await harness.start(Nothing, options=names.options(**options))
    await harness.stop_all()
    assert time.monotonic() - started < 12
    cause = info.value.__cause__
    assert isinstance(cause, AmqpConnectionException)
    assert str(cause).startswith(f"Unable to connect [amqp] to {AMQP_HOST}:")
    assert expected in str(cause)


async def test_cli_exits_1_when_rabbitmq_refuses_the_login(tmp_path: Path, names: Names) -> None:
    service_file = tmp_path / "svc.py"
    service_file.write_text(
        "import tomodachi\n\n"
        "class Svc(tomodachi.Service):\n"
        "    name = 'bad-login'\n"
        f"    options = tomodachi.Options(amqp={{'host': {AMQP_HOST!r}, 'port': {AMQP_PORT},"
        " 'password': 'wrong-password'})\n\n"
        "    @tomodachi.amqp('never')\n"
        "    async def handler(self, data):\n"
        "        pass\n"
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tomodachi",
        "run",
        "--production",  # no file watcher: exit instead of waiting for a fix
        str(service_file),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    output, _ = await asyncio.wait_for(process.communicate(), 30)
    text = output.decode(errors="replace")
    assert process.returncode == 1, text
    assert "Unable to connect [amqp]" in text


async def test_graceful_stop_lets_in_flight_handlers_finish_and_acks_them(
    real_harness: ServiceHarness, names: Names, probe: Probe
) -> None:
    started, gate, done = asyncio.Event(), asyncio.Event(), Counter()

    class Slow(tomodachi.Service):
        name = "slow"
        message_envelope = JsonBase

        @tomodachi.amqp("slow.job", queue_name="slow")
        async def handler(self, data: Any) -> None:
            started.set()
            await gate.wait()
            done.add(data)

    svc = await real_harness.start(Slow, options=names.options())
    broker = real_harness.environment.brokers()[0]
    await tomodachi.amqp_publish(svc.instance, "in flight", routing_key="slow.job")
    await asyncio.wait_for(started.wait(), 15)

    stopping = asyncio.create_task(svc.stop())
    gate.set()
    await asyncio.wait_for(stopping, 15)

    assert done.items == ["in flight"]
    assert not broker.connected  # the last transport out closed the connection
    assert await probe.message_count(f"{names.queue_prefix}slow") == 0  # acked, not requeued


async def test_publish_only_broker_creates_a_missing_exchange(names: Names, probe: Probe) -> None:
    from tomodachi.messaging.amqp.descriptors import AmqpProperties, AmqpPublication
    from tomodachi.messaging.amqp.real import RealAmqpBroker
    from tomodachi.messaging.amqp.settings import AmqpSettings

    broker = RealAmqpBroker(AmqpSettings(host=AMQP_HOST, port=AMQP_PORT), RealClock(), publish_timeout=5)
    exchange = f"{names.exchange}.publish-only"
    try:
        message_id = await broker.publish(AmqpPublication(exchange, "k", b"x", AmqpProperties(message_id="m-1")))
        assert message_id == "m-1"
        assert exchange in broker.declared_exchanges
    finally:
        await broker.close()
        await probe.delete(set(), {exchange})
