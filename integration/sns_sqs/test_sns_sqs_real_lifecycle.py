"""The real broker's lifecycle against moto: graceful stop, moto going away and coming back, start-up retries,
rejected credentials (clear error, non-zero exit)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sns_sqs_support import REPO, MotoServer, aws_options, free_port, moto_settings, wait_for
from test_sns_sqs_real_delivery import Inbox, Orders, queue_counts

import tomodachi
from tomodachi.envelope import JsonBase
from tomodachi.messaging.sns_sqs import consumer as consumer_module
from tomodachi.messaging.sns_sqs.aws_client import AwsSnsSqsClient
from tomodachi.runtime.clock import RealClock
from tomodachi.testing.harness import ServiceHarness
from tomodachi.transport.aws_sns_sqs import AWSSNSSQSConnectionException


class Slow(tomodachi.Service):
    name = "slow"
    message_envelope = JsonBase

    def __init__(self) -> None:
        self.inbox = Inbox()
        self.release = asyncio.Event()
        self.finished: list[Any] = []

    @tomodachi.aws_sns_sqs("slow-jobs", queue_name="slow-jobs", visibility_timeout=1)
    async def on_job(self, data: Any) -> None:
        self.inbox.put(data)
        await self.release.wait()
        self.finished.append(data)


def _client(url: str) -> AwsSnsSqsClient:
    return AwsSnsSqsClient(moto_settings(url), RealClock())


async def test_idle_stop_does_not_wait_for_the_long_poll(harness: ServiceHarness, options: dict[str, Any]) -> None:
    svc = await harness.start(Slow, options=options)
    [broker] = harness.environment.brokers()
    await wait_for(lambda: _true(broker.calls["receive_message"] >= 1), 10)
    started = time.monotonic()
    await svc.stop()
    assert time.monotonic() - started < 5  # not the 20 s of WaitTimeSeconds
    assert broker.client._clients == {}  # the last transport out closed the clients


async def _true(value: bool) -> bool:
    return value


async def test_stop_finishes_in_flight_handler_and_deletes_its_message(
    harness: ServiceHarness, options: dict[str, Any], prefix: str, moto_url: str
) -> None:
    svc = await harness.start(Slow, options=options)
    publisher = await harness.start(Orders, options=options)
    await tomodachi.sns_publish(publisher.instance, {"job": 1}, "slow-jobs")
    assert await svc.instance.inbox.get() == {"job": 1}
    stopping = asyncio.ensure_future(svc.stop())
    await asyncio.sleep(0)  # let stop() begin: the handler is now in flight during shutdown
    svc.instance.release.set()
    await asyncio.wait_for(stopping, 10)
    assert svc.instance.finished == [{"job": 1}]
    client = _client(moto_url)
    try:
        assert await queue_counts(client, f"{prefix}slow-jobs") == (0, 0)
    finally:
        await client.close()


async def test_handler_cut_off_by_the_grace_period_keeps_its_message(
    harness: ServiceHarness, options: dict[str, Any], prefix: str, moto_url: str
) -> None:
    svc = await harness.start(Slow, options={**options, "http.termination_grace_period_seconds": 2})
    publisher = await harness.start(Orders, options=options)
    await tomodachi.sns_publish(publisher.instance, {"job": 2}, "slow-jobs")
    assert await svc.instance.inbox.get() == {"job": 2}
    await asyncio.wait_for(svc.stop(), 15)  # never released: cancelled after the grace period
    assert svc.instance.finished == []
    client = _client(moto_url)
    try:
        url = await client.get_queue_url(f"{prefix}slow-jobs")
        assert url is not None
        found: list[dict[str, Any]] = []

        async def received() -> bool:
            found.extend(await client.receive_messages(url, 10, 1))
            return bool(found)

        await wait_for(received, 10, interval=0)  # visible again after its 1 s visibility timeout
        assert '\\"job\\": 2' in found[0]["Body"]
    finally:
        await client.close()


# ---- moto going away ---------------------------------------------------------------------------------------


@pytest.fixture
def own_moto() -> Iterator[MotoServer]:
    server = MotoServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


class Resilient(tomodachi.Service):
    name = "resilient"
    message_envelope = JsonBase

    def __init__(self) -> None:
        self.inbox = Inbox()

    @tomodachi.aws_sns_sqs("events", queue_name="events")
    async def on_event(self, data: Any) -> None:
        self.inbox.put(data)


async def test_consumer_survives_moto_restart(
    own_moto: MotoServer, harness: ServiceHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(consumer_module, "MISSING_QUEUE_DELAY", 0.2)  # upstream waits 20 s before re-creating
    options = aws_options(own_moto.url)
    svc = await harness.start(Resilient, options=options)
    publisher = await harness.start(Orders, options=options)
    await tomodachi.sns_publish(publisher.instance, 1, "events")
    assert await svc.instance.inbox.get() == 1
    [broker] = harness.environment.brokers()

    own_moto.stop()  # a long poll is in progress
    polls = broker.calls["receive_message"]
    await wait_for(lambda: _true(broker.calls["receive_message"] >= polls + 2), 15)  # failing, and retrying
    own_moto.start()  # same port, empty state: the queue, topic and subscription are re-created

    # the publisher's cached topic ARN is stale until the consumer re-created the topic: keep publishing
    async def handled() -> bool:
        try:
            await tomodachi.sns_publish(publisher.instance, 2, "events")
        except Exception:
            return False
        try:
            return await svc.instance.inbox.get(timeout=1) == 2
        except asyncio.TimeoutError:
            return False

    await wait_for(handled, 30, interval=0)
    await tomodachi.sns_publish(publisher.instance, 3, "events")
    while (item := await svc.instance.inbox.get()) != 3:
        assert item == 2  # late duplicates of the retry loop above, nothing else
    assert all(
        consumer.receiver._task is not None and not consumer.receiver._task.done() for consumer in broker.consumers
    )


async def test_start_up_retries_until_the_endpoint_answers(harness: ServiceHarness) -> None:
    server = MotoServer(port=free_port())
    starting = asyncio.ensure_future(harness.start(Resilient, options=aws_options(server.url)))
    try:
        await wait_for(lambda: _true(bool(harness.environment.brokers()) and _first_call_made(harness)), 15)
        assert not starting.done()
        await asyncio.get_running_loop().run_in_executor(None, server.start)
        svc = await asyncio.wait_for(starting, 30)
        publisher = await harness.start(Orders, options=aws_options(server.url))
        await tomodachi.sns_publish(publisher.instance, "late", "events")
        assert await svc.instance.inbox.get() == "late"
        await harness.stop_all()
    finally:
        starting.cancel()
        server.stop()


def _first_call_made(harness: ServiceHarness) -> bool:
    [broker] = harness.environment.brokers()
    return sum(broker.calls.values()) >= 2  # at least one retry happened


# ---- rejected credentials ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def auth_moto() -> Iterator[MotoServer]:
    """A moto server that checks credentials (only IAM-known access keys are accepted)."""
    server = MotoServer(env={"INITIAL_NO_AUTH_ACTION_COUNT": "0"})
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def test_rejected_credentials_fail_start_clearly(harness: ServiceHarness, auth_moto: MotoServer) -> None:
    started = time.monotonic()
    with pytest.raises(Exception) as info:
        await harness.start(Resilient, options=aws_options(auth_moto.url))
    assert time.monotonic() - started < 10  # not retried: credentials do not fix themselves
    cause = info.value.__cause__ or info.value
    assert isinstance(cause, AWSSNSSQSConnectionException)
    assert "InvalidClientTokenId" in str(cause) and "rejected the credentials" in str(cause)


SERVICE_FILE = """
import tomodachi


class Svc(tomodachi.Service):
    name = "creds"

    @tomodachi.aws_sns_sqs("creds-topic")
    async def handler(self, data):
        pass
"""


def test_rejected_credentials_exit_non_zero(auth_moto: MotoServer, tmp_path: Path) -> None:
    service = tmp_path / "creds_service.py"
    service.write_text(textwrap.dedent(SERVICE_FILE))
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "AKIAUNKNOWNKEY000000",
        "AWS_SECRET_ACCESS_KEY": "nope",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": auth_moto.url,  # botocore's own variable: the service file sets no options
        "PYTHONPATH": str(REPO),
    }
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "tomodachi", "run", str(service), "--production"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert result.returncode != 0
    assert time.monotonic() - started < 45
    assert "rejected the credentials" in result.stdout + result.stderr
