"""Wire compatibility: a service on upstream tomodachi 0.29.0 (its own virtualenv, a subprocess) and one of ours
exchange messages through moto in both directions: SNS topics each way and an SQS send from upstream to ours."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from sns_sqs_support import REPO, upstream_python
from test_sns_sqs_real_delivery import Inbox

import tomodachi
from tomodachi.envelope import JsonBase
from tomodachi.messaging.sns_sqs import naming
from tomodachi.testing.harness import ServiceHarness

UPSTREAM_SERVICE = """
import os

import tomodachi
from tomodachi.envelope import JsonBase

PREFIX = os.environ["INTEROP_PREFIX"]
URL = os.environ["INTEROP_MOTO_URL"]


class UpstreamInterop(tomodachi.Service):
    name = "upstream-interop"
    message_envelope = JsonBase
    options = tomodachi.Options(
        aws_sns_sqs=tomodachi.Options.AWSSNSSQS(
            region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing",
            topic_prefix=PREFIX, queue_name_prefix=PREFIX,
        ),
        aws_endpoint_urls=tomodachi.Options.AWSEndpointURLs(sns=URL, sqs=URL),
    )

    @tomodachi.aws_sns_sqs("interop-ping", competing=True)
    async def ping(self, data, message_attributes, topic, service):
        reply = {"echo": data, "topic": topic, "sender": service.get("name")}
        await tomodachi.aws_sns_sqs_publish(self, reply, "interop-pong", message_attributes=message_attributes)
        await tomodachi.sqs_send_message(self, reply, "interop-direct", message_attributes=message_attributes)

    async def _started_service(self):
        await tomodachi.aws_sns_sqs_publish(self, {"hello": "from upstream"}, "interop-pong")
"""


class Ours(tomodachi.Service):
    name = "ours-interop"
    message_envelope = JsonBase

    def __init__(self) -> None:
        self.inbox = Inbox()

    @tomodachi.aws_sns_sqs("interop-pong", competing=True)
    async def pong(self, data: Any, message_attributes: dict[str, Any], service: Any, message_type: str) -> None:
        self.inbox.put(("pong", data, message_attributes, service["name"], message_type))

    @tomodachi.aws_sns_sqs(queue_name="interop-direct")
    async def direct(self, data: Any, message_attributes: dict[str, Any], service: Any, message_type: str) -> None:
        self.inbox.put(("direct", data, message_attributes, service["name"], message_type))


@pytest.fixture(scope="module")
def upstream() -> Path:
    try:
        return upstream_python()
    except Exception as exc:  # no network to PyPI, for instance
        pytest.skip(f"upstream tomodachi 0.29.0 is not available: {exc}")


@pytest.fixture
async def start_upstream(
    upstream: Path, moto_url: str, prefix: str, tmp_path: Path
) -> AsyncIterator[Callable[[], Awaitable[asyncio.subprocess.Process]]]:
    """Starts the upstream service (as a subprocess) when the test calls it; terminated at teardown."""
    service = tmp_path / "upstream_interop.py"
    service.write_text(UPSTREAM_SERVICE)
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env.update({"INTEROP_PREFIX": prefix, "INTEROP_MOTO_URL": moto_url})
    log = (tmp_path / "upstream.log").open("wb")
    processes: list[asyncio.subprocess.Process] = []

    async def start() -> asyncio.subprocess.Process:
        process = await asyncio.create_subprocess_exec(
            str(upstream), "-m", "tomodachi", "run", service.name, "--production",  # upstream refuses absolute paths
            cwd=tmp_path, env=env, stdout=log, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        processes.append(process)
        return process

    try:
        yield start
    finally:
        for process in processes:
            if process.returncode is None:
                process.terminate()
                try:
                    await asyncio.wait_for(process.wait(), 30)
                except asyncio.TimeoutError:
                    process.kill()
                    await process.wait()
        log.close()


async def test_upstream_and_ours_exchange_messages_both_ways(
    harness: ServiceHarness,
    options: dict[str, Any],
    prefix: str,
    start_upstream: Callable[[], Awaitable[asyncio.subprocess.Process]],
    tmp_path: Path,
) -> None:
    # ours first, so its queues and subscriptions exist before upstream publishes from _started_service
    ours = await harness.start(Ours, options=options)
    upstream_service = await start_upstream()
    hello_task = asyncio.ensure_future(ours.instance.inbox.get(timeout=60))
    exited = asyncio.ensure_future(upstream_service.wait())
    await asyncio.wait([hello_task, exited], return_when=asyncio.FIRST_COMPLETED)
    exited.cancel()
    if not hello_task.done() or hello_task.exception() is not None:
        hello_task.cancel()
        [broker] = harness.environment.brokers()
        topics = {
            arn: await broker.client.list_subscriptions_by_topic(arn)
            for arn in await broker.client.list_topics()
            if prefix in arn
        }
        queue = await broker.get_queue_url(
            naming.queue_name("interop-pong", "", "", competing=True, queue_name_prefix=prefix)
        )
        counts = await broker.client.get_queue_attributes(queue)
        topics["queue"] = counts  # type: ignore[assignment]
        log = (tmp_path / "upstream.log").read_text()
        raise AssertionError(f"upstream service never said hello; topics: {topics}\nupstream log:\n{log}")
    hello = hello_task.result()
    assert hello == ("pong", {"hello": "from upstream"}, {}, "upstream-interop", "Notification")

    # ours -> upstream (SNS), upstream -> ours (SNS and SQS send), with message attributes both ways
    attrs = {"kind": "ping", "n": 2, "tags": ["a", "b"]}
    await tomodachi.sns_publish(ours.instance, {"ping": 1}, "interop-ping", message_attributes=attrs)
    replies = sorted([await ours.instance.inbox.get(timeout=30) for _ in range(2)])
    reply = {"echo": {"ping": 1}, "topic": "interop-ping", "sender": "ours-interop"}
    assert replies == [
        ("direct", reply, attrs, "upstream-interop", "Message"),
        ("pong", reply, attrs, "upstream-interop", "Notification"),
    ]

    # upstream created its competing queue under exactly the name we derive
    expected_queue = prefix + hashlib.sha256(naming.encode_topic("interop-ping").encode()).hexdigest()
    assert naming.queue_name("interop-ping", "ping", "x", competing=True, queue_name_prefix=prefix) == expected_queue
    [broker] = harness.environment.brokers()
    assert await broker.get_queue_url(expected_queue) is not None
    assert process_alive(upstream_service)


def process_alive(process: asyncio.subprocess.Process) -> bool:
    return process.returncode is None


def test_upstream_venv_is_cached() -> None:
    """Creating the upstream virtualenv twice is a no-op the second time."""
    try:
        first = upstream_python()
    except Exception as exc:
        pytest.skip(f"upstream tomodachi 0.29.0 is not available: {exc}")
    assert upstream_python() == first
    assert REPO.exists()
