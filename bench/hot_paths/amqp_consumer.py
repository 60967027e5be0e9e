"""Hot-path benchmark: tomodachi AMQP consumer service (ours and upstream 0.29.0 run this same file)."""

from __future__ import annotations

import json
import os
import time
from typing import Any

import tomodachi
from tomodachi.envelope import JsonBase

QUEUE = os.environ["BENCH_QUEUE"]
ROUTING_KEY = os.environ["BENCH_ROUTING_KEY"]
COUNT = int(os.environ["BENCH_COUNT"])
DONE_FILE = os.environ["BENCH_DONE_FILE"]
ENVELOPE = JsonBase if os.environ.get("BENCH_ENVELOPE") == "json" else None


def amqp_options() -> Any:
    extra: dict[str, Any] = {}
    if os.environ.get("BENCH_CONFIRMS") == "0":  # ours only: upstream has no such option
        extra["publisher_confirms"] = False
    return tomodachi.Options.AMQP(
        host=os.environ.get("BENCH_AMQP_HOST", "127.0.0.1"),
        port=int(os.environ.get("BENCH_AMQP_PORT", "5672")),
        login=os.environ.get("BENCH_AMQP_LOGIN", "guest"),
        password=os.environ.get("BENCH_AMQP_PASSWORD", "guest"),
        qos=tomodachi.Options.AMQP.QOS(queue_prefetch_count=100),
        **extra,
    )


def write_marker(path: str, data: dict[str, Any]) -> None:
    data["tomodachi"] = {"version": tomodachi.__version__, "file": tomodachi.__file__}
    with open(path + ".tmp", "w") as f:
        json.dump(data, f)
    os.replace(path + ".tmp", path)


class Consumer(tomodachi.Service):
    name = "bench-hot-consumer"
    options = tomodachi.Options(amqp=amqp_options())

    handled = 0
    first = 0.0

    @tomodachi.amqp(ROUTING_KEY, queue_name=QUEUE, message_envelope=ENVELOPE)
    async def receive(self, data: Any) -> None:
        handled = self.handled + 1
        self.handled = handled
        if handled == 1:
            self.first = time.time()
        if handled == COUNT:
            write_marker(DONE_FILE, {"first": self.first, "last": time.time(), "count": handled})
