"""Hot-path benchmark: the raw aioamqp baseline, `raw_amqp.py consume` or `raw_amqp.py publish`."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from typing import Any

import aioamqp

QUEUE = os.environ.get("BENCH_QUEUE", "")
ROUTING_KEY = os.environ["BENCH_ROUTING_KEY"]
COUNT = int(os.environ["BENCH_COUNT"])
PUBLISHERS = int(os.environ.get("BENCH_PUBLISHERS", "1"))
EXCHANGE = "amq.topic"
QUEUE_ARGUMENTS = {"x-expires": 86400 * 1000}  # as both tomodachi builds declare it (queue_ttl 86400)
BODY = b"x" * 99


def write_marker(path: str, data: dict[str, Any]) -> None:
    with open(path + ".tmp", "w") as f:
        json.dump(data, f)
    os.replace(path + ".tmp", path)


async def connect() -> tuple[Any, Any]:
    transport, protocol = await aioamqp.connect(
        host=os.environ.get("BENCH_AMQP_HOST", "127.0.0.1"),
        port=int(os.environ.get("BENCH_AMQP_PORT", "5672")),
        login=os.environ.get("BENCH_AMQP_LOGIN", "guest"),
        password=os.environ.get("BENCH_AMQP_PASSWORD", "guest"),
    )
    return protocol, await protocol.channel()


async def consume() -> None:
    """basic_consume + basic_client_ack per message, prefetch 100; runs until SIGINT/SIGTERM."""
    protocol, channel = await connect()
    await channel.basic_qos(prefetch_count=100, prefetch_size=0, connection_global=False)
    await channel.queue_declare(QUEUE, durable=True, arguments=QUEUE_ARGUMENTS)
    await channel.queue_bind(QUEUE, EXCHANGE, ROUTING_KEY)
    state = {"handled": 0, "first": 0.0}
    done_file = os.environ["BENCH_DONE_FILE"]

    async def callback(channel: Any, body: bytes, envelope: Any, properties: Any) -> None:
        body.decode()
        handled = state["handled"] = state["handled"] + 1
        if handled == 1:
            state["first"] = time.time()
        await channel.basic_client_ack(envelope.delivery_tag)
        if handled == COUNT:
            write_marker(done_file, {"first": state["first"], "last": time.time(), "count": handled})

    await channel.basic_consume(callback, queue_name=QUEUE)
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(signum, stop.set)
    await stop.wait()
    await protocol.close()


async def publish() -> None:
    """Awaits ``basic_publish`` in a loop (``BENCH_PUBLISHERS`` coroutines), no publisher confirms."""
    protocol, channel = await connect()
    result_file = os.environ["BENCH_RESULT_FILE"]

    async def publish_n(count: int) -> None:
        for _ in range(count):
            await channel.basic_publish(BODY, exchange_name=EXCHANGE, routing_key=ROUTING_KEY, properties={})

    await channel.basic_publish(BODY, exchange_name=EXCHANGE, routing_key=ROUTING_KEY + ".warmup")
    started = time.time()
    share, extra = divmod(COUNT, PUBLISHERS)
    await asyncio.gather(*(publish_n(share + (i < extra)) for i in range(PUBLISHERS)))
    write_marker(result_file, {"started": started, "published": time.time(), "count": COUNT})
    await protocol.close()


if __name__ == "__main__":
    asyncio.run({"consume": consume, "publish": publish}[sys.argv[1]]())
