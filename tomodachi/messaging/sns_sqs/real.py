"""The AWS SNS+SQS broker on aiobotocore: the shared set-up, publish and receive code over :class:`AwsSnsSqsClient`."""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

from tomodachi.messaging.broker import DeliveryCallback
from tomodachi.messaging.sns_sqs import naming, setup
from tomodachi.messaging.sns_sqs.aws_client import RETRY_BUDGET_SECONDS, AwsSettings, AwsSnsSqsClient
from tomodachi.messaging.sns_sqs.client import NON_EXISTENT_QUEUE, NOT_FOUND, AwsApiError
from tomodachi.messaging.sns_sqs.consumer import SqsReceiver
from tomodachi.messaging.sns_sqs.descriptors import SnsPublication, SnsSqsSubscription, SqsPublication
from tomodachi.messaging.sns_sqs.exceptions import QueueDoesNotExistError
from tomodachi.runtime.clock import Clock, RealClock

logger = logging.getLogger("tomodachi.awssnssqs")

DRAIN_MESSAGE_PAYLOAD = "__TOMODACHI_DRAIN__cdab4416-1727-4603-87c9-0ff8dddf1f22__"  # as transport.py / upstream
DRAIN_GROUP_ID = "__tomodachi_drain__"


class _Consumer:
    def __init__(self, broker: RealSnsSqsBroker, receiver: SqsReceiver) -> None:
        self.broker = broker
        self.receiver = receiver

    async def cancel(self) -> None:
        """Stops receiving at once (an ongoing long poll is cancelled); handed-out deliveries stay valid."""
        self.broker._consumers.discard(self)
        await self.receiver.cancel()


class RealSnsSqsBroker:
    """One set of SNS/SQS/STS clients shared by the services of an Environment with equal connection settings.

    ``acquire()`` / ``release()`` count the transports using it; the last one out closes the clients. Any
    later use (e.g. a publish from a service without handlers) opens them again.
    """

    def __init__(self, settings: AwsSettings, clock: Clock | None = None, *, retry_budget: float | None = None) -> None:
        self.clock: Clock = clock or RealClock()
        self.client = AwsSnsSqsClient(
            settings, self.clock, retry_budget=RETRY_BUDGET_SECONDS if retry_budget is None else retry_budget
        )
        self.topic_arns: dict[str, str] = {}  # final topic name (prefix, encoding, .fifo) -> ARN
        self._topic_locks: dict[str, asyncio.Lock] = {}
        self._consumers: set[_Consumer] = set()
        self._users = 0

    @property
    def calls(self) -> Any:
        """Requests sent to AWS so far, by operation (a ``collections.Counter``)."""
        return self.client.calls

    # ---- Broker interface -------------------------------------------------------------------------------

    async def declare(self, subscription: SnsSqsSubscription) -> setup.DeclaredQueue:
        return await setup.declare(self.client, subscription)

    async def consume(self, subscription: SnsSqsSubscription, on_delivery: DeliveryCallback) -> _Consumer:
        name = naming.queue_name_from_arn(subscription.queue_arn) if subscription.queue_arn else subscription.queue_name
        url = await self.client.get_queue_url(name)
        if url is None:
            url = (await self.declare(subscription)).url

        async def redeclare() -> str:
            self.client.forget_queue_name(name)
            self.topic_arns.clear()
            logger.warning("re-creating the queue, topic and subscription", extra={"queue_name": name})
            return (await self.declare(subscription)).url

        async def drain(queue_url: str) -> None:
            # a marker message ends a pending long poll at once; whoever receives it deletes it silently
            # (not retried: with the endpoint gone, stopping must not wait for it)
            fifo = {"MessageGroupId": DRAIN_GROUP_ID, "MessageDeduplicationId": str(uuid.uuid4())}
            await self.client.call(
                "sqs",
                "send_message",
                retry=False,
                QueueUrl=queue_url,
                MessageBody=DRAIN_MESSAGE_PAYLOAD,
                **(fifo if subscription.fifo else {}),
            )

        receiver = SqsReceiver(
            self.client,
            url,
            on_delivery,
            clock=self.clock,
            max_number_of_messages=1 if subscription.fifo else subscription.max_number_of_messages,
            on_missing_queue=redeclare,
            on_drain=drain,
        )
        consumer = _Consumer(self, receiver)
        self._consumers.add(consumer)
        receiver.start()
        return consumer

    async def publish(self, publication: SnsPublication | SqsPublication) -> str:
        if isinstance(publication, SnsPublication):
            if publication.topic not in self.topic_arns and not publication.overwrite_topic_attributes:
                # one lookup per topic: concurrent first publishes wait for it instead of each looking it up
                lock = self._topic_locks.setdefault(publication.topic, asyncio.Lock())
                async with lock:
                    if publication.topic not in self.topic_arns:
                        return await self._publish(publication)
            return await self._publish(publication)
        try:
            return await setup.send(self.client, publication)
        except AwsApiError as exc:
            if exc.code != NON_EXISTENT_QUEUE:
                raise
            # a cached queue URL went stale: the URL was forgotten, look the queue up once more
            try:
                return await setup.send(self.client, publication)
            except AwsApiError as again:
                if again.code == NON_EXISTENT_QUEUE:
                    raise QueueDoesNotExistError(
                        f"The specified queue does not exist: {publication.queue}", operation_name="SendMessage"
                    ) from again
                raise

    async def _publish(self, publication: SnsPublication) -> str:
        cached = publication.topic in self.topic_arns
        try:
            return await setup.publish(self.client, publication, self.topic_arns)
        except AwsApiError as exc:
            if exc.code != NOT_FOUND or not cached:
                raise
            # the cached topic was deleted (or the endpoint lost its state): look it up / create it again
            self.topic_arns.pop(publication.topic, None)
            return await setup.publish(self.client, publication, self.topic_arns)

    async def get_queue_url(self, queue_name: str) -> str | None:
        return await self.client.get_queue_url(queue_name)

    async def close(self) -> None:
        """Cancel consumers and close the clients; idempotent (a later call reconnects)."""
        for consumer in list(self._consumers):
            await consumer.cancel()
        await self.client.close()

    def acquire(self) -> None:
        self._users += 1

    async def release(self) -> None:
        self._users = max(0, self._users - 1)
        if self._users == 0 and not self._consumers:
            await self.client.close()


def create_real_broker(options: Any, clock: Clock | None = None) -> RealSnsSqsBroker:
    """The broker for a service's ``Options.AWSSNSSQS`` / ``Options.AWSEndpointURLs``."""
    return RealSnsSqsBroker(AwsSettings.from_options(options), clock)
