"""Trace context crosses the bus between our instrumented services and upstream tomodachi 0.29.0 run with
``tomodachi run --opentelemetry-instrument`` (its own virtualenv, a subprocess printing its spans with the console
exporter), in both directions, on RabbitMQ and on SNS+SQS at a moto server: a request that publishes and the
consumer on the other side are one trace, the consumer's parent the publisher's PRODUCER span.

Upstream injects a W3C ``traceparent`` text header into AMQP ``properties.headers`` and into SNS/SQS message
attributes (as String attributes) and extracts it from the same places; the taps below check that what we put on
the wire has exactly that name and shape, and that the JsonBase body carries no trace data.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind
from otel_interop_support import WAIT, ConsoleSpan, StartUpstream, UpstreamProcess, key_shape, traceparent_ids

import tomodachi
from integration.amqp.amqp_support import AMQP_HOST, AMQP_PORT, Names, Probe
from integration.sns_sqs.sns_sqs_support import FAKE_CREDENTIALS, aws_options
from tomodachi.envelope import JsonBase
from tomodachi.messaging.amqp.naming import queue_name
from tomodachi.messaging.sns_sqs.aws_client import AwsSnsSqsClient
from tomodachi.messaging.sns_sqs.naming import sns_topic_name
from tomodachi.testing.harness import ServiceHarness
from tomodachi.testing.otel import SpanRecorder
from tomodachi.testing.wires import free_port

UPSTREAM_COMMON = """
import json
import os

import tomodachi
from tomodachi.envelope import JsonBase


def record(entry):
    with open(os.environ["INTEROP_RECORDS"], "a") as f:
        f.write(json.dumps(entry) + "\\n")


def received(data, metadata, **extra):
    record({"received": data, "from": metadata.get("message_uuid", ""), **extra})
"""

UPSTREAM_AMQP = (
    UPSTREAM_COMMON
    + """

class UpstreamOtel(tomodachi.Service):
    name = "upstream-otel"
    message_envelope = JsonBase
    options = tomodachi.Options(
        amqp={
            "host": os.environ["INTEROP_AMQP_HOST"], "port": int(os.environ["INTEROP_AMQP_PORT"]),
            "exchange_name": os.environ["INTEROP_EXCHANGE"], "queue_name_prefix": os.environ["INTEROP_PREFIX"],
            "queue_ttl": 300,
        },
        http={"host": "127.0.0.1", "port": int(os.environ["INTEROP_HTTP_PORT"])},
    )

    @tomodachi.amqp("otel.to-upstream", competing=True)
    async def from_ours(self, data, metadata):
        received(data, metadata)

    @tomodachi.http("POST", r"/publish")
    async def publish(self, request):
        await tomodachi.amqp_publish(self, {"hello": "from upstream"}, routing_key="otel.to-ours")
        return 200, "published"

    async def _started_service(self):
        record({"ready": True})
"""
)

UPSTREAM_SNS_SQS = (
    UPSTREAM_COMMON
    + """

URL = os.environ["INTEROP_MOTO_URL"]
PREFIX = os.environ["INTEROP_PREFIX"]


class UpstreamOtel(tomodachi.Service):
    name = "upstream-otel"
    message_envelope = JsonBase
    options = tomodachi.Options(
        aws_sns_sqs={
            "region_name": "us-east-1", "aws_access_key_id": "testing", "aws_secret_access_key": "testing",
            "topic_prefix": PREFIX, "queue_name_prefix": PREFIX,
        },
        aws_endpoint_urls={"sns": URL, "sqs": URL},
        http={"host": "127.0.0.1", "port": int(os.environ["INTEROP_HTTP_PORT"])},
    )

    @tomodachi.aws_sns_sqs("otel-to-upstream", competing=True)
    async def from_ours(self, data, metadata):
        received(data, metadata, via="sns")

    @tomodachi.aws_sns_sqs(queue_name="otel-direct-upstream")
    async def direct_from_ours(self, data, metadata):
        received(data, metadata, via="sqs")

    @tomodachi.http("POST", r"/publish")
    async def publish(self, request):
        await tomodachi.aws_sns_sqs_publish(self, {"hello": "sns from upstream"}, "otel-to-ours")
        await tomodachi.sqs_send_message(self, {"hello": "sqs from upstream"}, "otel-direct-ours")
        return 200, "published"

    async def _started_service(self):
        record({"ready": True})
"""
)


# -- helpers --------------------------------------------------------------------------------------------------


class Inbox:
    """What our consumers received, awaited with a bound."""

    def __init__(self) -> None:
        self.items: list[Any] = []
        self.changed = asyncio.Event()

    def put(self, item: Any) -> None:
        self.items.append(item)
        self.changed.set()

    async def wait_for(self, count: int, what: str, timeout: float = WAIT) -> list[Any]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(self.items) < count:
            self.changed.clear()
            remaining = deadline - loop.time()
            try:
                await asyncio.wait_for(self.changed.wait(), max(remaining, 0))
            except asyncio.TimeoutError:
                pytest.fail(f"timed out after {timeout:g}s waiting for {what}; have {self.items}")
        return self.items


async def finished_span(spans: SpanRecorder, name: str, timeout: float = WAIT) -> ReadableSpan:
    """Our one span called ``name``, once it ended: a consumer's span ends when its message was settled."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        found = [span for span in spans if span.name == name]
        if found:
            assert len(found) == 1, f"expected one span {name!r}, found {[span.name for span in found]}"
            return found[0]
        if loop.time() >= deadline:
            pytest.fail(f"no finished span {name!r} within {timeout:g}s; have {spans.names()}")
        await asyncio.sleep(0.01)


def upstream_span(kind: str, name: str) -> Callable[[ConsoleSpan], bool]:
    return lambda span: span.kind == kind and span.name == name


def ids(span: ReadableSpan) -> tuple[int, int]:
    assert span.context is not None
    return span.context.trace_id, span.context.span_id


def continues(consumer: ConsoleSpan, producer: ReadableSpan) -> bool:
    trace_id, span_id = ids(producer)
    return consumer.trace_id == trace_id and consumer.parent_id == span_id


async def post(port: int, path: str) -> int:
    async with aiohttp.ClientSession() as session, session.post(f"http://127.0.0.1:{port}{path}") as response:
        return response.status


# -- AMQP -----------------------------------------------------------------------------------------------------


def amqp_env(names: Names, http_port: int) -> dict[str, str]:
    return {
        "INTEROP_AMQP_HOST": AMQP_HOST,
        "INTEROP_AMQP_PORT": str(AMQP_PORT),
        "INTEROP_EXCHANGE": names.exchange,
        "INTEROP_PREFIX": names.queue_prefix,
        "INTEROP_HTTP_PORT": str(http_port),
    }


@pytest_asyncio.fixture
async def upstreams_queue(names: Names, probe: Probe) -> AsyncIterator[str]:
    """The queue upstream's AMQP handler declares (named as ours would name it), deleted at teardown."""
    queue = queue_name("otel.to-upstream", "from_ours", "", competing=True, prefix=names.queue_prefix)
    try:
        yield queue
    finally:
        await probe.delete({queue}, set())


async def tap_amqp(probe: Probe, names: Names, routing_key: str) -> str:
    """A queue of the test's own on the shared exchange (declared as the services declare it), bound to
    ``routing_key``; deleted with the probe's connection."""
    channel = await probe.ensure()
    await channel.exchange_declare(names.exchange, "topic", durable=True, auto_delete=False)
    queue = f"{names.queue_prefix}tap"
    await channel.queue_declare(queue, exclusive=True, auto_delete=True)
    await channel.queue_bind(queue, names.exchange, routing_key)
    return queue


async def test_our_amqp_publish_is_continued_by_upstreams_consumer(
    otel_spans: SpanRecorder,
    amqp_harness: ServiceHarness,
    names: Names,
    probe: Probe,
    upstreams_queue: str,
    upstream: StartUpstream,
) -> None:
    class Ours(tomodachi.Service):
        name = "ours-otel"
        message_envelope = JsonBase

        @tomodachi.http("POST", r"/ship")
        async def ship(self, request: Any) -> tuple[int, str]:
            await tomodachi.amqp_publish(self, {"order": 7, "items": ["a", "b"]}, routing_key="otel.to-upstream")
            return 202, "shipped"

    ours = await amqp_harness.start(Ours, options=names.options())
    tap = await tap_amqp(probe, names, "otel.to-upstream")
    upstream_service = await upstream(UPSTREAM_AMQP, amqp_env(names, free_port()))
    await upstream_service.wait_for_record(lambda r: r.get("ready", False), "ready marker", timeout=30)

    assert (await ours.http.post("/ship")).status == 202
    request = await finished_span(otel_spans, "POST /ship")
    producer = await finished_span(otel_spans, "otel.to-upstream create")
    assert producer.kind is SpanKind.PRODUCER and producer.parent is not None
    assert producer.parent.span_id == ids(request)[1]

    # upstream's CONSUMER span continues our trace, our PRODUCER span its parent
    consumer = await upstream_service.wait_for_span(
        upstream_span("CONSUMER", "otel.to-upstream process"), "CONSUMER span"
    )
    assert (consumer.trace_id, consumer.parent_id) == ids(producer), (consumer, ids(producer))
    assert consumer.trace_id == ids(request)[0] and consumer.service_name == "upstream-otel"
    entry = await upstream_service.wait_for_record(lambda r: "received" in r, "the message from our service")
    assert entry["received"] == {"order": 7, "items": ["a", "b"]}
    assert entry["from"].startswith(f"{ours.instance.uuid}.")

    # on the wire: a text `traceparent` header (the producer's context), the JsonBase body free of trace data
    body, properties = await probe.get(tap)
    assert traceparent_ids(properties.headers["traceparent"]) == ids(producer)
    await assert_json_base_unchanged(body.decode(), ours.instance, "otel.to-upstream")
    assert_upstream_healthy(upstream_service)


async def test_upstreams_amqp_publish_is_continued_by_our_consumer(
    otel_spans: SpanRecorder,
    amqp_harness: ServiceHarness,
    names: Names,
    probe: Probe,
    upstreams_queue: str,
    upstream: StartUpstream,
) -> None:
    inbox = Inbox()

    class Ours(tomodachi.Service):
        name = "ours-otel"
        message_envelope = JsonBase

        @tomodachi.amqp("otel.to-ours")
        async def from_upstream(self, data: Any) -> None:
            inbox.put(data)

    await amqp_harness.start(Ours, options=names.options())  # bound before upstream publishes
    tap = await tap_amqp(probe, names, "otel.to-ours")
    port = free_port()
    upstream_service = await upstream(UPSTREAM_AMQP, amqp_env(names, port))
    await upstream_service.wait_for_record(lambda r: r.get("ready", False), "ready marker", timeout=30)

    assert await post(port, "/publish") == 200
    assert await inbox.wait_for(1, "the message upstream published") == [{"hello": "from upstream"}]
    server = await upstream_service.wait_for_span(upstream_span("SERVER", "POST /publish"), "SERVER span")
    producer = await upstream_service.wait_for_span(upstream_span("PRODUCER", "otel.to-ours publish"), "PRODUCER span")
    assert producer.trace_id == server.trace_id and producer.parent_id == server.span_id

    # our CONSUMER span continues upstream's trace, its PRODUCER span the parent
    consumer = await finished_span(otel_spans, "otel.to-ours process")
    assert consumer.kind is SpanKind.CONSUMER and consumer.parent is not None
    assert ids(consumer)[0] == server.trace_id
    assert consumer.parent.span_id == producer.span_id and consumer.parent.is_remote

    # what upstream puts on the wire: the very header name and value shape we write and read
    _, properties = await probe.get(tap)
    assert traceparent_ids(properties.headers["traceparent"]) == (producer.trace_id, producer.span_id)
    assert_upstream_healthy(upstream_service)


# -- SNS+SQS --------------------------------------------------------------------------------------------------


def sns_env(moto_url: str, prefix: str, http_port: int) -> dict[str, str]:
    return {
        **FAKE_CREDENTIALS,
        "INTEROP_MOTO_URL": moto_url,
        "INTEROP_PREFIX": prefix,
        "INTEROP_HTTP_PORT": str(http_port),
    }


async def tap_topic(aws: AwsSnsSqsClient, topic: str, prefix: str) -> str:
    """A queue of the test's own subscribed (not raw) to ``topic``: its URL."""
    topic_arn = await aws.create_topic(sns_topic_name(topic, prefix), {})
    queue_url = await aws.create_queue(f"{prefix}tap", {})
    queue_arn = (await aws.get_queue_attributes(queue_url))["QueueArn"]
    await aws.subscribe(topic_arn, queue_arn, {})
    return queue_url


async def receive_one(aws: AwsSnsSqsClient, queue_url: str, timeout: float = WAIT) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        messages = await aws.receive_messages(queue_url, 1, 1)
        if messages:
            return messages[0]
    pytest.fail(f"nothing arrived on {queue_url} within {timeout:g}s")


async def test_our_sns_and_sqs_publishes_are_continued_by_upstreams_consumers(
    otel_spans: SpanRecorder,
    sns_harness: ServiceHarness,
    moto_url: str,
    prefix: str,
    aws: AwsSnsSqsClient,
    upstream: StartUpstream,
) -> None:
    class Ours(tomodachi.Service):
        name = "ours-otel"
        message_envelope = JsonBase

        @tomodachi.http("POST", r"/ship")
        async def ship(self, request: Any) -> tuple[int, str]:
            await tomodachi.sns_publish(self, {"order": 8}, "otel-to-upstream")
            await tomodachi.sqs_send_message(self, {"order": 9}, "otel-direct-upstream")
            return 202, "shipped"

    ours = await sns_harness.start(Ours, options=aws_options(moto_url, prefix))
    upstream_service = await upstream(UPSTREAM_SNS_SQS, sns_env(moto_url, prefix, free_port()))
    await upstream_service.wait_for_record(lambda r: r.get("ready", False), "ready marker", timeout=30)
    tap = await tap_topic(aws, "otel-to-upstream", prefix)  # the topic upstream subscribed to

    assert (await ours.http.post("/ship")).status == 202
    request = await finished_span(otel_spans, "POST /ship")
    sns_producer = await finished_span(otel_spans, "otel-to-upstream create")
    sqs_producer = await finished_span(otel_spans, "otel-direct-upstream create")
    for producer in (sns_producer, sqs_producer):
        assert producer.parent is not None and producer.parent.span_id == ids(request)[1]

    # upstream names a CONSUMER span by topic (a message sent to the queue has none): each continues our trace
    via_sns = await upstream_service.wait_for_span(
        upstream_span("CONSUMER", "otel-to-upstream process"), "CONSUMER span of the SNS message"
    )
    via_sqs = await upstream_service.wait_for_span(
        upstream_span("CONSUMER", " process"), "CONSUMER span of the SQS message"
    )
    assert continues(via_sns, sns_producer), (via_sns, ids(sns_producer))
    assert continues(via_sqs, sqs_producer), (via_sqs, ids(sqs_producer))
    records = await upstream_service.wait_for_records(lambda r: "received" in r, 2, "both messages from our service")
    received = sorted((r["via"], r["received"]) for r in records)
    assert received == [("sns", {"order": 8}), ("sqs", {"order": 9})]

    # on the wire: a String message attribute `traceparent` in the notification, the JsonBase message untouched
    notification = json.loads((await receive_one(aws, tap))["Body"])
    attribute = notification["MessageAttributes"]["traceparent"]
    assert attribute["Type"] == "String"
    assert traceparent_ids(attribute["Value"]) == ids(sns_producer)
    await assert_json_base_unchanged(notification["Message"], ours.instance, "otel-to-upstream")
    assert_upstream_healthy(upstream_service)


async def test_upstreams_sns_and_sqs_publishes_are_continued_by_our_consumers(
    otel_spans: SpanRecorder, sns_harness: ServiceHarness, moto_url: str, prefix: str, upstream: StartUpstream
) -> None:
    inbox = Inbox()

    class Ours(tomodachi.Service):
        name = "ours-otel"
        message_envelope = JsonBase

        @tomodachi.aws_sns_sqs("otel-to-ours", competing=True)
        async def from_upstream(self, data: Any) -> None:
            inbox.put(("sns", data))

        @tomodachi.aws_sns_sqs(queue_name="otel-direct-ours")
        async def direct_from_upstream(self, data: Any) -> None:
            inbox.put(("sqs", data))

    await sns_harness.start(Ours, options=aws_options(moto_url, prefix))  # subscribed before upstream publishes
    port = free_port()
    upstream_service = await upstream(UPSTREAM_SNS_SQS, sns_env(moto_url, prefix, port))
    await upstream_service.wait_for_record(lambda r: r.get("ready", False), "ready marker", timeout=30)

    assert await post(port, "/publish") == 200
    assert sorted(await inbox.wait_for(2, "both messages upstream published")) == [
        ("sns", {"hello": "sns from upstream"}),
        ("sqs", {"hello": "sqs from upstream"}),
    ]
    server = await upstream_service.wait_for_span(upstream_span("SERVER", "POST /publish"), "SERVER span")
    for upstream_name, our_name in (
        ("otel-to-ours publish", "otel-to-ours process"),
        ("otel-direct-ours publish", "otel-direct-ours process"),
    ):
        producer = await upstream_service.wait_for_span(
            upstream_span("PRODUCER", upstream_name), f"PRODUCER span {upstream_name}"
        )
        assert producer.trace_id == server.trace_id and producer.parent_id == server.span_id
        consumer = await finished_span(otel_spans, our_name)
        assert consumer.kind is SpanKind.CONSUMER and consumer.parent is not None
        assert ids(consumer)[0] == server.trace_id, our_name
        assert consumer.parent.span_id == producer.span_id and consumer.parent.is_remote, our_name
    assert_upstream_healthy(upstream_service)


# -- shared checks --------------------------------------------------------------------------------------------


async def assert_json_base_unchanged(body: str, service: Any, topic: str) -> None:
    """``body`` is a JsonBase envelope shaped exactly as one built now without any trace context, with no trace
    data in it (so an upstream receiver parses it as before)."""
    assert "traceparent" not in body and "tracestate" not in body, body
    plain = json.loads(await JsonBase.build_message(service, topic, json.loads(body)["data"]))
    assert key_shape(json.loads(body)) == key_shape(plain)


def assert_upstream_healthy(process: UpstreamProcess) -> None:
    """The upstream service is still running and printed no traceback (its handlers and exporter never failed)."""
    assert process.process.returncode is None, process.tail()
    assert "Traceback" not in process.output_text(), process.tail()
