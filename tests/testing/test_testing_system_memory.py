"""A finished system is freed: nothing process-wide keeps its service instances (and their brokers) alive."""

from __future__ import annotations

import gc
import weakref
from typing import Any

import tomodachi
from tomodachi.envelope import JsonBase
from tomodachi.testing import system


class Kept(tomodachi.Service):
    name = "kept"
    message_envelope = JsonBase

    @tomodachi.amqp("kept.key")
    async def on_message(self, data: Any) -> None:
        pass

    @tomodachi.http("GET", r"/kept/(?P<id>\d+)")
    async def get(self, request: Any, id: str) -> str:
        return id


async def test_a_system_and_its_services_are_garbage_once_the_block_ends() -> None:
    async with system(Kept) as first:
        await first.fake_amqp.publish("kept.key", {"n": 1})
        await first.settle()
        instance = weakref.ref(first.service("kept").instance)
        broker = weakref.ref(first.harness.memory_broker("amqp"))
    del first
    gc.collect()
    assert instance() is None and broker() is None
