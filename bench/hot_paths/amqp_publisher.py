"""Hot-path benchmark: tomodachi AMQP publisher service (ours and upstream 0.29.0 run this same file)."""

from __future__ import annotations

import asyncio
import json
import os
import time
from typing import Any

import tomodachi
from tomodachi.envelope import JsonBase

ROUTING_KEY = os.environ["BENCH_ROUTING_KEY"]
COUNT = int(os.environ["BENCH_COUNT"])
PUBLISHERS = int(os.environ.get("BENCH_PUBLISHERS", "1"))
RESULT_FILE = os.environ["BENCH_RESULT_FILE"]
ENVELOPE = JsonBase if os.environ.get("BENCH_ENVELOPE") == "json" else None
BODY = "x" * 99  # 99 B on the wire without an envelope


def amqp_options() -> Any:
    extra: dict[str, Any] = {}
    if os.environ.get("BENCH_CONFIRMS") == "0":  # ours only: upstream has no such option
        extra["publisher_confirms"] = False
    return tomodachi.Options.AMQP(
        host=os.environ.get("BENCH_AMQP_HOST", "127.0.0.1"),
        port=int(os.environ.get("BENCH_AMQP_PORT", "5672")),
        login=os.environ.get("BENCH_AMQP_LOGIN", "guest"),
        password=os.environ.get("BENCH_AMQP_PASSWORD", "guest"),
        **extra,
    )


def write_marker(path: str, data: dict[str, Any]) -> None:
    data["tomodachi"] = {"version": tomodachi.__version__, "file": tomodachi.__file__}
    with open(path + ".tmp", "w") as f:
        json.dump(data, f)
    os.replace(path + ".tmp", path)


class Publisher(tomodachi.Service):
    name = "bench-hot-publisher"
    options = tomodachi.Options(amqp=amqp_options())

    _task: asyncio.Task[None] | None = None

    async def _started_service(self) -> None:
        self._task = asyncio.create_task(self._publish_all())

    async def _publish(self, count: int) -> None:
        for _ in range(count):
            await tomodachi.amqp_publish(self, BODY, routing_key=ROUTING_KEY, message_envelope=ENVELOPE)

    async def _publish_all(self) -> None:
        try:
            # connects (both builds connect lazily) and warms the envelope; unroutable, so dropped by the broker
            await tomodachi.amqp_publish(self, BODY, routing_key=ROUTING_KEY + ".warmup", message_envelope=ENVELOPE)
            started = time.time()
            if PUBLISHERS <= 1:
                await self._publish(COUNT)
            else:
                share, extra = divmod(COUNT, PUBLISHERS)
                await asyncio.gather(*(self._publish(share + (i < extra)) for i in range(PUBLISHERS)))
            write_marker(RESULT_FILE, {"started": started, "published": time.time(), "count": COUNT})
        except Exception as exc:
            write_marker(RESULT_FILE, {"error": f"{type(exc).__name__}: {exc}"})
            raise
