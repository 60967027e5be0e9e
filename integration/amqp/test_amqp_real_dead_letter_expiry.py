"""Dead-letter queues on a real RabbitMQ: a per-instance queue's ``.dlq`` expires with it (same ``x-expires``),
the ``.dlq`` of a competing or named queue never expires."""

from __future__ import annotations

from typing import Any

import aioamqp
import pytest
from amqp_support import Names, Probe

import tomodachi
from tomodachi.envelope import JsonBase
from tomodachi.messaging.amqp.naming import queue_name
from tomodachi.testing.harness import ServiceHarness

QUEUE_TTL = 300


async def _declared_with(probe: Probe, queue: str, arguments: dict[str, Any]) -> bool:
    """RabbitMQ accepts a re-declare only with equivalent arguments (else PRECONDITION_FAILED closes the channel)."""
    channel = await probe.ensure()
    try:
        await channel.queue_declare(queue, durable=True, exclusive=False, auto_delete=False, arguments=arguments)
    except aioamqp.ChannelClosed as exc:
        assert exc.code == 406, exc
        return False
    return True


class Mixed(tomodachi.Service):
    name = "mixed"
    message_envelope = JsonBase

    @tomodachi.amqp("dlq.instance")
    async def per_instance(self, data: Any) -> None:
        pass

    @tomodachi.amqp("dlq.shared", competing=True)
    async def shared(self, data: Any) -> None:
        pass

    @tomodachi.amqp("dlq.named", queue_name="named")
    async def named(self, data: Any) -> None:
        pass


@pytest.mark.parametrize("queue_ttl", [QUEUE_TTL, 0])  # 0: no queue expires, nor any dead-letter queue
async def test_dead_letter_queue_of_a_per_instance_queue_expires_like_the_queue(
    real_harness: ServiceHarness, names: Names, probe: Probe, queue_ttl: int
) -> None:
    svc = await real_harness.start(Mixed, options=names.options(**{"amqp.queue_ttl": queue_ttl}))
    prefix = names.queue_prefix
    uuid = str(svc.instance.uuid)
    per_instance = queue_name("dlq.instance", "per_instance", uuid, competing=False, prefix=prefix)
    shared = queue_name("dlq.shared", "shared", uuid, competing=True, prefix=prefix)
    named = f"{prefix}named"
    expires = {"x-expires": queue_ttl * 1000} if queue_ttl else {}

    assert await _declared_with(probe, per_instance, expires)
    assert await _declared_with(probe, f"{per_instance}.dlq", expires)
    assert await _declared_with(probe, f"{shared}.dlq", {})
    assert await _declared_with(probe, f"{named}.dlq", {})
    assert not await _declared_with(probe, f"{shared}.dlq", {"x-expires": 1000})  # the check tells them apart
