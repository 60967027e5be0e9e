"""``fake_amqp`` / ``fake_sns_sqs`` on real wires: publish, observe, settle and inspect through RabbitMQ and moto.

The same test API as the in-memory fakes (publish, published, dead letters, settle); what only an in-memory broker
can offer (fault injection, queue contents, virtual time) skips the test with a reason.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from functools import cached_property
from typing import TYPE_CHECKING, Any, Generic, NoReturn, TypeVar

from tomodachi.messaging.broker import Broker, Consumer, DeliveryCallback
from tomodachi.messaging.memory_brokers import MEMORY_BROKERS
from tomodachi.messaging.sns_sqs.memory_state import SubscriptionRecord
from tomodachi.runtime.execution_report import TaskCounter
from tomodachi.runtime.observe import MessageLostEvent
from tomodachi.testing.clock import Duration
from tomodachi.testing.fakes.base import (
    DEFAULT_ENVELOPE,
    FakeBase,
    TestSender,
    check_attributes,
    dead_letter_from_event,
    publish_envelope,
    raw_text,
)
from tomodachi.testing.records import Bus, DeadLetter, Pending, PublishedMessage
from tomodachi.testing.settle import LONGER_TIMEOUT_HINT, SettleTimeout

if TYPE_CHECKING:
    from tomodachi.messaging.amqp.descriptors import AmqpProperties
    from tomodachi.runtime.environment import Environment
    from tomodachi.testing.harness import ServiceHarness

QUIET_PERIOD = 1.0
REAL_SETTLE_TIMEOUT = 30.0

SubscriptionT = TypeVar("SubscriptionT", contravariant=True)
PublicationT = TypeVar("PublicationT", contravariant=True)
DeclaredT = TypeVar("DeclaredT", covariant=True)


class RecordingBroker(Generic[SubscriptionT, PublicationT, DeclaredT]):
    """A real broker that tells ``record`` about every publish it accepted (publication, message id), so the
    real-wire fakes can answer ``published()``; everything else goes to the broker as it is."""

    def __init__(
        self,
        broker: Broker[SubscriptionT, PublicationT, DeclaredT],
        record: Callable[[PublicationT, str | None], None],
    ) -> None:
        self.broker = broker
        self.record = record

    async def declare(self, subscription: SubscriptionT) -> DeclaredT:
        return await self.broker.declare(subscription)

    async def consume(self, subscription: SubscriptionT, on_delivery: DeliveryCallback) -> Consumer:
        return await self.broker.consume(subscription, on_delivery)

    async def publish(self, publication: PublicationT) -> str | None:
        message_id = await self.broker.publish(publication)
        self.record(publication, message_id)
        return message_id

    async def close(self) -> None:
        await self.broker.close()

    def acquire(self) -> None:
        self.broker.acquire()

    async def release(self) -> None:
        await self.broker.release()

    def __getattr__(self, name: str) -> Any:
        # what a bus's publish functions use beyond the Broker interface (SNS+SQS: get_queue_url)
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.broker, name)


def real_wire_fake(bus: str, harness: ServiceHarness) -> RealWireFake:
    return RealWireFake("amqp" if bus == "amqp" else "aws_sns_sqs", harness)


class RealWireFake(FakeBase):
    """The real-wire stand-in of one bus's fake (services' publishes are recorded as they go through)."""

    def __init__(self, bus: Bus, harness: ServiceHarness) -> None:
        self.bus = bus
        super().__init__(harness.clock, harness.ledger)
        self._harness = harness
        self._records: list[PublishedMessage] = []

    def record(self, publication: object, result: str | None) -> None:
        record = to_record(self.bus, publication, result)
        if record.exchange_name == "":  # the default exchange: the destination is a queue, named as the code does
            record = replace(record, destination=self._unprefixed_queue(record.destination))
        self._records.append(record)

    def _unprefixed_queue(self, queue: str) -> str:
        # the per-test queue prefix isolates tests on the shared RabbitMQ: records name queues as the code does
        prefix = str(self._harness.wire_options.get("amqp.queue_name_prefix") or "")
        return queue[len(prefix) :] if prefix and queue.startswith(prefix) else queue

    def _published(self) -> list[PublishedMessage]:
        return list(self._records)

    def _dead_letter(self, event: MessageLostEvent) -> DeadLetter:
        record = dead_letter_from_event(event)
        if self.bus == "amqp":
            from tomodachi.messaging.amqp.naming import dead_letter_queue_name

            queue = self._unprefixed_queue(record.queue)
            return replace(
                record, queue=queue, dead_letter_queue=dead_letter_queue_name(queue) if record.kept else None
            )
        if not record.kept:
            return record
        try:
            policy = self.queue_attributes(record.queue).get("RedrivePolicy")
        except Exception:  # inspection is best effort: the record is still the loss
            return record
        target = json.loads(policy).get("deadLetterTargetArn", "") if policy else ""
        return replace(record, dead_letter_queue=target.rsplit(":", 1)[-1] or None)

    @cached_property
    def _sender(self) -> TestSender:
        """Stands in for a service publishing with the test's wire options (built once: they do not change)."""
        from tomodachi.options import Options

        return TestSender(Options().merged(self._harness.wire_options), self._harness.environment)

    async def publish(
        self,
        destination: str,
        data: Any,
        *,
        envelope: object = DEFAULT_ENVELOPE,
        attributes: Mapping[str, object] | None = None,
        **kwargs: Any,
    ) -> PublishedMessage:
        """Publish like a service would: AMQP routing key or SNS topic (unprefixed), through the real broker."""
        envelope = publish_envelope(envelope)
        check_attributes(attributes)
        before = len(self._records)
        if self.bus == "amqp":
            await self._amqp_publish(destination, data, envelope, attributes, **kwargs)
        else:
            from tomodachi.messaging.sns_sqs.api import aws_sns_sqs_publish

            await aws_sns_sqs_publish(
                self._sender,
                raw_text(data) if envelope is None else data,
                destination,
                message_envelope=envelope,
                message_attributes=attributes,
                **kwargs,
            )
        return self._records[before] if len(self._records) > before else self._records[-1]

    async def _amqp_publish(
        self,
        destination: str,
        data: Any,
        envelope: object,
        attributes: Mapping[str, object] | None,
        *,
        exchange_name: str = "amq.topic",
        properties: AmqpProperties | None = None,
        service: object = None,
    ) -> None:
        # what the in-memory fake sends (publication_from_test), through the real broker with the wire's prefix
        from tomodachi.messaging.amqp.naming import prefixed_routing_key
        from tomodachi.messaging.amqp.settings import get_broker, settings_of
        from tomodachi.runtime.observe import report_published
        from tomodachi.testing.fakes.amqp_publication import publication_from_test

        sender = service or self._sender
        settings = settings_of(self._sender)
        # the default exchange routes by queue name: the queue as the harness prefixed it for this test
        if exchange_name == "":
            wire_key = settings.queue_name_prefix + destination
        else:
            wire_key = prefixed_routing_key(destination, settings.routing_key_prefix)
        publication = await publication_from_test(
            sender, destination, data, envelope, attributes, properties, exchange_name, wire_key
        )
        await get_broker(self._harness.environment, settings).publish(publication)
        report_published(self._harness.environment.observers, self._sender, "amqp", "amqp", destination)

    async def send(
        self,
        queue: str,
        data: Any,
        *,
        envelope: object = DEFAULT_ENVELOPE,
        attributes: Mapping[str, object] | None = None,
        **kwargs: Any,
    ) -> PublishedMessage:
        """``sqs.SendMessage`` to a queue (unprefixed name); ``envelope=None`` sends ``data`` as the raw body."""
        if self.bus != "aws_sns_sqs":
            raise AttributeError("send() is an SNS+SQS operation")
        from tomodachi.messaging.sns_sqs.api import aws_sns_sqs_send_message

        envelope = publish_envelope(envelope)
        check_attributes(attributes)
        if envelope is None:
            kwargs.setdefault("message_body_formatter", None)
            data = raw_text(data)
        before = len(self._records)
        await aws_sns_sqs_send_message(
            self._sender, data, queue, message_envelope=envelope, message_attributes=attributes, **kwargs
        )
        return self._records[before] if len(self._records) > before else self._records[-1]

    async def settle(self, timeout: float = REAL_SETTLE_TIMEOUT) -> None:
        """Wait until no handler of this bus has run for a quiet period and none is running (real time: a real
        broker cannot say what is still on its way); ``SettleTimeout`` after ``timeout`` real seconds."""
        await quiet_period(self.bus, self._harness.environment.execution.counter(self.bus), timeout)

    async def run_until_idle(self, limit: Duration = timedelta(days=1)) -> None:
        await self.settle()

    def pending(self) -> list[Pending]:
        return []

    def changed(self) -> asyncio.Event:
        return asyncio.Event()

    async def close(self) -> None:
        """Nothing to release: the services own their real brokers."""

    # -- SNS+SQS inspection, answered by the moto server (read-only calls; messages are never received here) --

    def topics(self) -> list[str]:
        return [arn.rsplit(":", 1)[-1] for arn in self._aws_list("sns", "list_topics", "Topics", "TopicArn")]

    def queues(self) -> list[str]:
        return [url.rsplit("/", 1)[-1] for url in self._aws("sqs").list_queues().get("QueueUrls", [])]

    def subscriptions(self, topic: str | None = None) -> list[SubscriptionRecord]:
        sns = self._aws("sns")
        records = []
        for item in self._aws_list("sns", "list_subscriptions", "Subscriptions"):
            topic_name = item["TopicArn"].rsplit(":", 1)[-1]
            if item.get("Protocol") != "sqs" or (topic is not None and topic_name != topic):
                continue
            attributes = sns.get_subscription_attributes(SubscriptionArn=item["SubscriptionArn"])["Attributes"]
            policy = attributes.get("FilterPolicy")
            queue_name = item["Endpoint"].rsplit(":", 1)[-1]
            records.append(
                SubscriptionRecord(
                    item["SubscriptionArn"], topic_name, queue_name, json.loads(policy) if policy else None
                )
            )
        return records

    def queue_attributes(self, queue: str) -> dict[str, str]:
        sqs = self._aws("sqs")
        url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
        attributes: dict[str, str] = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        return attributes

    def _aws(self, service: str) -> Any:
        if self.bus != "aws_sns_sqs":
            _skip(self.bus, f"{service} inspection")
        options = self._harness.wire_options
        import boto3  # installed with moto[server], which real wires need anyway

        return boto3.client(
            service,
            endpoint_url=options["aws_endpoint_urls.sns" if service == "sns" else "aws_endpoint_urls.sqs"],
            region_name=options["aws_sns_sqs.region_name"],
            aws_access_key_id=options["aws_sns_sqs.aws_access_key_id"],
            aws_secret_access_key=options["aws_sns_sqs.aws_secret_access_key"],
        )

    def _aws_list(self, service: str, operation: str, key: str, field: str | None = None) -> list[Any]:
        paginator = self._aws(service).get_paginator(operation)
        items = [item for page in paginator.paginate() for item in page.get(key, [])]
        return [item[field] for item in items] if field else items

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        _skip(self.bus, name)


def _skip(bus: str, what: str) -> NoReturn:
    import pytest

    pytest.skip(f"{bus}.{what} needs the in-memory broker (the test runs with --tomodachi-wire=real)")


async def quiet_period(bus: str, tasks: TaskCounter, timeout: float, quiet: float = QUIET_PERIOD) -> None:
    """Until no handler of ``bus`` (its ``tasks``, counted on the harness's Environment) has run for ``quiet``
    real seconds and none is running; ``SettleTimeout`` (saying what kept it busy) after ``timeout``."""
    deadline = time.monotonic() + timeout
    last_total = tasks.total
    quiet_since = time.monotonic()
    while True:
        now = time.monotonic()
        if tasks.current > 0 or tasks.total != last_total:
            last_total, quiet_since = tasks.total, now
        elif now - quiet_since >= quiet:
            return
        if now > deadline:
            if tasks.current > 0:
                line = _running(bus, tasks)
            else:
                line = f"  {bus}: no handler running, but quiet for {now - quiet_since:.1f} s only"
            raise SettleTimeout(timeout, still_busy([line], quiet))
        await asyncio.sleep(0.05)  # real wires: nothing to await but time


def running_handlers(environment: Environment) -> list[str]:
    """The message handlers running now on real wires, by bus (what a real broker can tell of its work)."""
    counters = [(bus, environment.execution.counter(bus)) for bus in MEMORY_BROKERS]
    return [_running(bus, tasks) for bus, tasks in counters if tasks.current > 0]


def _running(bus: str, tasks: TaskCounter) -> str:
    return f"  {bus}: {tasks.current} handler(s) running"


def still_busy(lines: list[str], quiet: float | None = None) -> str:
    """What kept the buses busy on real wires, in the in-memory wires' terms: a ``SettleTimeout.busy`` (which
    says how long settle() waits to be quiet) or the end of a ``wait_for_call`` timeout (``quiet=None``)."""
    why = "a real broker cannot say what is on its way"
    if quiet is not None:
        why += f", so settle() waits until no handler has run for {quiet:g} s of real time"
    return f"still busy (real wires: {why}):\n" + "\n".join(lines) + f"\n{LONGER_TIMEOUT_HINT}"


def to_record(bus: str, publication: object, result: str | None) -> PublishedMessage:
    """The test-facing record of a publish descriptor that went through a real broker."""
    now = datetime.now(timezone.utc)
    if bus == "amqp":
        from tomodachi.messaging.amqp.descriptors import AmqpPublication
        from tomodachi.messaging.amqp.naming import decode_routing_key

        if not isinstance(publication, AmqpPublication):
            raise TypeError(f"not an AMQP publication: {publication!r}")

        return PublishedMessage(
            bus="amqp",
            kind="amqp",
            destination=decode_routing_key(publication.routing_key),
            payload=publication.body,
            attributes=dict(publication.properties.headers),
            message_id=publication.properties.message_id or "",
            time=now,
            exchange_name=publication.exchange_name,
        )
    from tomodachi.messaging.sns_sqs import attributes as attribute_codec
    from tomodachi.messaging.sns_sqs import naming
    from tomodachi.messaging.sns_sqs.descriptors import SnsPublication, SqsPublication

    if isinstance(publication, SnsPublication):
        destination = naming.decode_topic(publication.topic)
        if publication.group_id and destination.endswith(naming.FIFO_SUFFIX):
            destination = destination[: -len(naming.FIFO_SUFFIX)]
        return PublishedMessage(
            bus="aws_sns_sqs",
            kind="sns",
            destination=destination,
            payload=publication.message,
            attributes=attribute_codec.decode(publication.message_attributes),
            message_id=str(result or ""),
            time=now,
            group_id=publication.group_id,
            deduplication_id=publication.deduplication_id,
        )
    if not isinstance(publication, SqsPublication):
        raise TypeError(f"not an SNS or SQS publication: {publication!r}")
    return PublishedMessage(
        bus="aws_sns_sqs",
        kind="sqs",
        destination=publication.queue,
        payload=publication.body,
        attributes=attribute_codec.decode(publication.message_attributes),
        message_id=str(result or ""),
        time=now,
        group_id=publication.group_id,
        deduplication_id=publication.deduplication_id,
    )
