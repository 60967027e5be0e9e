"""What ``fake_amqp`` / ``fake_sns_sqs`` are on real wires: publish, observe and drain through real brokers.

The test-facing subset of the in-memory brokers' API (``publish``, ``send``, ``published``, ``drain``) works
on both wires; features only a fake can offer (fault injection, queue inspection) skip the test with a reason.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import TYPE_CHECKING, Any

from tomodachi.runtime import context as execution_context

if TYPE_CHECKING:
    from tomodachi.testing.harness import ServiceHarness

TASK_COUNTER = {"amqp": "amqp", "aws_sns_sqs": "aws_sns_sqs"}


class ProbeSender:
    """Stands in for a sending service: carries the test's options and environment to the publish API."""

    name = "tomodachi-test"
    uuid = "00000000-0000-0000-0000-000000000000"
    message_envelope: Any = None

    def __init__(self, harness: ServiceHarness) -> None:
        from tomodachi.options import Options

        self.options = Options().merged(harness.wire_options)
        self.context: dict[str, Any] = {"_tomodachi_environment": harness.environment}


class RealWireProbe:
    """The real-wire stand-in for a memory broker fixture."""

    def __init__(self, bus: str, harness: ServiceHarness) -> None:
        self.bus = bus
        self._harness = harness
        self.published: list[Any] = []

    def record(self, publication: Any, result: Any) -> None:
        self.published.append(to_record(self.bus, publication, result))

    async def publish(self, target: str, data: Any, *, envelope: Any = None, **kwargs: Any) -> Any:
        """Publish like a service would: AMQP routing key or SNS topic (unprefixed), through the real broker."""
        sender = ProbeSender(self._harness)
        if self.bus == "amqp":
            from tomodachi.messaging.amqp.api import amqp_publish

            return await amqp_publish(sender, data, routing_key=target, message_envelope=envelope, **kwargs)
        from tomodachi.messaging.sns_sqs.api import aws_sns_sqs_publish

        return await aws_sns_sqs_publish(sender, data, target, message_envelope=envelope, **kwargs)

    async def send(self, queue: str, data: Any, *, envelope: Any = None, **kwargs: Any) -> Any:
        """``sqs.SendMessage`` to a queue (unprefixed name); ``envelope=None`` sends ``data`` as the raw body."""
        if self.bus != "aws_sns_sqs":
            raise AttributeError("send() is an SNS+SQS operation")
        from tomodachi.messaging.sns_sqs.api import aws_sns_sqs_send_message

        sender = ProbeSender(self._harness)
        if envelope is None:
            kwargs.setdefault("message_body_formatter", None)
        return await aws_sns_sqs_send_message(sender, data, queue, message_envelope=envelope, **kwargs)

    async def drain(self, timeout: float = 30.0, quiet_period: float = 1.0) -> None:
        """Wait until no handler of this bus has run for ``quiet_period`` seconds and none is running.

        A real broker cannot tell us what is still on its way, so this waits for a quiet period (real time),
        bounded by ``timeout``.
        """
        values = execution_context.get_execution_context()
        prefix = TASK_COUNTER[self.bus]
        deadline = time.monotonic() + timeout
        last_total = values.get(f"{prefix}_total_tasks", 0)
        quiet_since = time.monotonic()
        while True:
            now = time.monotonic()
            total = values.get(f"{prefix}_total_tasks", 0)
            busy = values.get(f"{prefix}_current_tasks", 0) > 0
            if busy or total != last_total:
                last_total, quiet_since = total, now
            elif now - quiet_since >= quiet_period:
                return
            if now > deadline:
                raise TimeoutError(f"{self.bus} handlers did not become idle within {timeout}s")
            await asyncio.sleep(0.05)  # real wires: nothing to await but time

    async def close(self) -> None:
        """Nothing to release: the services own their real brokers."""

    # -- SNS+SQS inspection, answered by the moto server (read-only calls; messages are never received here) --

    def topics(self) -> list[str]:
        return [arn.rsplit(":", 1)[-1] for arn in self._aws_list("sns", "list_topics", "Topics", "TopicArn")]

    def queues(self) -> list[str]:
        return [url.rsplit("/", 1)[-1] for url in self._aws("sqs").list_queues().get("QueueUrls", [])]

    def subscriptions(self, topic: str | None = None) -> list[Any]:
        from tomodachi.messaging.sns_sqs.memory import SubscriptionRecord

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
            self.__getattr__(f"{service} inspection")
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
        import pytest

        if name.startswith("_"):
            raise AttributeError(name)

        pytest.skip(f"{self.bus}.{name} needs the in-memory broker (the test runs with --tomodachi-wire=real)")


def to_record(bus: str, publication: Any, result: Any) -> Any:
    """Turn a publish descriptor into the record type the in-memory broker keeps, so assertions match."""
    if bus == "amqp":
        from tomodachi.messaging.amqp.memory import PublishedMessage

        return PublishedMessage(
            publication.exchange_name, publication.routing_key, publication.body, publication.properties, time.time()
        )
    from tomodachi.messaging.sns_sqs.descriptors import SnsPublication
    from tomodachi.messaging.sns_sqs.memory import PublishedRecord

    if isinstance(publication, SnsPublication):
        return PublishedRecord(
            topic=publication.topic,
            message=publication.message,
            message_attributes=dict(publication.message_attributes),
            message_id=str(result or ""),
            timestamp=time.time(),
            group_id=publication.group_id,
            deduplication_id=publication.deduplication_id,
        )
    return PublishedRecord(
        topic="",
        message=publication.body,
        message_attributes=dict(publication.message_attributes),
        message_id=str(result or ""),
        timestamp=time.time(),
        group_id=publication.group_id,
        deduplication_id=publication.deduplication_id,
        queue=publication.queue,
    )
