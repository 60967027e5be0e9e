"""A compressed message may not expand without bound: beyond the envelope's max_decompressed_size it is refused
unread and dead-lettered with the reason, never a crash or a memory blow-up."""

from __future__ import annotations

import base64
import json
import zlib
from typing import Any

import pytest

import tomodachi
from tomodachi.envelope import JsonBase
from tomodachi.envelope.base import MessageTooLargeError, bounded_decompress
from tomodachi.testing import FakeAmqp, ServiceFactory, TestSystem


def bomb(size: int) -> str:
    """A JsonBase message whose compressed data (a string of zeros) expands to ``size`` bytes of JSON."""
    data = base64.b64encode(zlib.compress(json.dumps("0" * size).encode(), 9)).decode()
    return json.dumps(
        {
            "service": {"name": "attacker", "uuid": "x"},
            "metadata": {
                "message_uuid": "m-1",
                "protocol_version": "tomodachi-json-base--1.0.0",
                "timestamp": 0,
                "topic": "t",
                "data_encoding": "base64_gzip_json",
            },  # fmt: skip
            "data": data,
        }
    )


async def test_a_compression_bomb_is_refused_without_expanding_it() -> None:
    payload = bomb(48 * 1024 * 1024)
    assert len(payload) < 100_000  # tens of KB on the wire
    with pytest.raises(MessageTooLargeError, match="expands beyond 33554432 bytes"):
        await JsonBase.parse_message(payload)


async def test_a_large_compressed_message_within_the_limit_is_read() -> None:
    message, _, _ = await JsonBase.parse_message(bomb(1024 * 1024))
    assert message["data"] == "0" * (1024 * 1024)


def test_the_limit_is_exact() -> None:
    data = zlib.compress(b"x" * 1000)
    assert bounded_decompress(data, 1000) == b"x" * 1000
    with pytest.raises(MessageTooLargeError):
        bounded_decompress(data, 999)


class Small(JsonBase):
    max_decompressed_size = 1024


class Consumer(tomodachi.Service):
    name = "bomb-consumer"
    message_envelope = Small

    def __init__(self) -> None:
        self.received: list[Any] = []

    @tomodachi.amqp("orders", queue_name="bomb-orders")
    async def orders(self, data: Any) -> None:
        self.received.append(data)


async def test_a_message_over_the_limit_is_dead_lettered_with_the_reason(
    tomodachi_service: ServiceFactory, tomodachi_system: TestSystem, fake_amqp: FakeAmqp
) -> None:
    svc = await tomodachi_service(Consumer)
    await fake_amqp.publish("orders", bomb(4096), envelope=None)
    await tomodachi_system.run_until_idle()
    assert svc.instance.received == []
    [dead] = fake_amqp.take_dead_letters("bomb-orders")
    assert "expands beyond 1024 bytes" in dead.reason


def test_a_stream_cut_before_its_checksum_is_refused() -> None:
    """Found by hypothesis: all the data but the zlib trailer decompresses to complete JSON, yet the stream was
    never verified; zlib.decompress refuses it, and so must the bounded reader."""
    stream = zlib.compress(b'{"a": 1}')
    assert bounded_decompress(stream) == b'{"a": 1}'
    with pytest.raises(zlib.error, match="truncated"):
        bounded_decompress(stream[:-4])  # the adler-32 checksum removed
