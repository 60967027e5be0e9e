"""Benchmark service, runnable unchanged on this tomodachi and on upstream 0.29.0: publishes BENCH_N messages to
one topic and consumes them; writes throughput/latency figures to BENCH_OUT, then exits."""

import asyncio
import json
import os
import statistics
import time

import tomodachi
from tomodachi.envelope import JsonBase

N = int(os.environ["BENCH_N"])
OUT = os.environ["BENCH_OUT"]
URL = os.environ["BENCH_URL"]
PREFIX = os.environ["BENCH_PREFIX"]
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "10"))


class Bench(tomodachi.Service):
    name = "bench-sns-sqs"
    message_envelope = JsonBase
    options = tomodachi.Options(
        aws_sns_sqs=tomodachi.Options.AWSSNSSQS(
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            topic_prefix=PREFIX,
            queue_name_prefix=PREFIX,
        ),
        aws_endpoint_urls=tomodachi.Options.AWSEndpointURLs(sns=URL, sqs=URL, sts=URL),
    )

    def __init__(self):
        self.latencies = []
        self.started = 0.0
        self.published_at = 0.0
        self.publisher = None

    @tomodachi.aws_sns_sqs("bench-topic", competing=True)
    async def handler(self, data):
        self.latencies.append(time.time() - data["sent"])
        if len(self.latencies) == N:
            elapsed = time.time() - self.started
            with open(OUT, "w") as out:  # noqa: ASYNC230 - once, at the end of the run
                json.dump(
                    {
                        "messages": N,
                        "seconds": elapsed,
                        "publish_seconds": self.published_at - self.started,
                        "messages_per_second": N / elapsed,
                        "median_latency_ms": statistics.median(self.latencies) * 1000,
                        "p95_latency_ms": sorted(self.latencies)[int(0.95 * (N - 1))] * 1000,
                    },
                    out,
                )
            tomodachi.exit(0)

    async def _started_service(self):
        # receiving starts only after this returns (upstream too), so publish from a task
        self.publisher = asyncio.ensure_future(self._publish_all())

    async def _publish_all(self):
        self.started = time.time()
        limit = asyncio.Semaphore(CONCURRENCY)

        async def one(i):
            async with limit:
                await tomodachi.aws_sns_sqs_publish(self, {"i": i, "sent": time.time()}, "bench-topic")

        await asyncio.gather(*(one(i) for i in range(N)))
        self.published_at = time.time()
