"""Dead-letter queue arguments: a per-instance queue's ``.dlq`` expires like the queue; shared ones never do."""

from __future__ import annotations

from typing import Any

from amqp_rig import PlainService, Rig

from tomodachi.envelope import JsonBase
from tomodachi.messaging.amqp.api import amqp
from tomodachi.messaging.amqp.naming import queue_name


class Mixed(PlainService):
    name = "mixed"
    message_envelope = JsonBase

    @amqp("dlq.instance")
    async def per_instance(self, data: Any) -> None:
        pass

    @amqp("dlq.shared", competing=True)
    async def shared(self, data: Any) -> None:
        pass

    @amqp("dlq.named", queue_name="named")
    async def named(self, data: Any) -> None:
        pass


async def test_dead_letter_queue_arguments(rig: Rig) -> None:
    service = Mixed()
    await rig.start(service)
    per_instance = queue_name("dlq.instance", "per_instance", service.uuid, competing=False)
    shared = queue_name("dlq.shared", "shared", service.uuid, competing=True)
    arguments = {name: queue.arguments for name, queue in rig.broker.queues.items()}
    day = {"x-expires": 86400 * 1000}  # the default queue_ttl
    assert arguments[per_instance] == day
    assert arguments[f"{per_instance}.dlq"] == day
    assert arguments[f"{shared}.dlq"] == {}
    assert arguments["named.dlq"] == {}
