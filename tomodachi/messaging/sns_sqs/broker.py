"""The SNS+SQS broker, one class over any :class:`SnsSqsClient`: aiobotocore on AWS, the in-memory AWS in tests."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter

from tomodachi.logging import framework_logger
from tomodachi.messaging.broker import Delivery, DeliveryCallback
from tomodachi.messaging.sns_sqs import naming, setup
from tomodachi.messaging.sns_sqs.client import NON_EXISTENT_QUEUE, NOT_FOUND, AwsApiError, SnsSqsClient
from tomodachi.messaging.sns_sqs.consumer import DRAIN_GROUP_ID, DRAIN_MESSAGE_PAYLOAD, SqsReceiver
from tomodachi.messaging.sns_sqs.descriptors import SnsPublication, SnsSqsSubscription, SqsPublication
from tomodachi.messaging.sns_sqs.exceptions import QueueDoesNotExistError
from tomodachi.messaging.sns_sqs.queue_urls import QueueUrlCache
from tomodachi.runtime.clock import Clock, RealClock

logger = framework_logger("tomodachi.awssnssqs")


class SqsConsumer:
    """One handler's receive loop on its queue; ``cancel()`` stops it (handed-out deliveries stay valid)."""

    def __init__(self, broker: SnsSqsBroker, queue_name: str, receiver: SqsReceiver) -> None:
        self.broker = broker
        self.queue_name = queue_name  # kept when the queue has to be re-created under the receiver
        self.receiver = receiver
        self.active = True

    async def cancel(self) -> None:
        """Stops receiving at once: a pending long poll is ended with a drain marker, else cancelled."""
        if self.active:
            self.active = False
            self.broker.consumers.discard(self)
            await self.receiver.cancel()


class SnsSqsBroker:
    """One SNS+SQS connection shared by the services of an Environment with equal connection settings.

    It keeps what a client does not: topic ARNs by final topic name (concurrent first publishes to a topic share
    one lookup) and queue URLs, both looked up again when AWS says they went stale. ``acquire()`` /
    ``release()`` count the transports using it; the last one out closes the client (a later use reopens it).
    ``on_received`` is told about every delivery before its consumer gets it (the in-memory AWS uses it to know
    which delivery holds which receipt).
    """

    def __init__(
        self, client: SnsSqsClient, clock: Clock | None = None, *, on_received: DeliveryCallback | None = None
    ) -> None:
        self.client = client
        self.clock: Clock = clock or RealClock()
        self.on_received = on_received
        self.queue_urls = QueueUrlCache(client)
        self.topic_arns: dict[str, str] = {}  # final topic name (prefix, encoding, .fifo) -> ARN
        self._topic_locks: dict[str, asyncio.Lock] = {}
        self.consumers: set[SqsConsumer] = set()
        self._users = 0

    @property
    def calls(self) -> Counter[str]:
        """Requests sent to the client so far, by operation."""
        return self.client.calls

    # ---- Broker interface -------------------------------------------------------------------------------

    async def declare(self, subscription: SnsSqsSubscription) -> setup.DeclaredQueue:
        return await setup.declare(self.queue_urls, subscription)

    async def consume(self, subscription: SnsSqsSubscription, on_delivery: DeliveryCallback) -> SqsConsumer:
        name = naming.queue_name_from_arn(subscription.queue_arn) if subscription.queue_arn else subscription.queue_name
        url = await self.queue_urls.get_queue_url(name)
        if url is None:
            url = (await self.declare(subscription)).url

        async def redeclare() -> str:
            self.queue_urls.forget(name)
            self.topic_arns.clear()
            logger.warning("re-creating the queue, topic and subscription", queue_name=name)
            return (await self.declare(subscription)).url

        async def drain(queue_url: str) -> None:
            # not retried: with the endpoint gone, stopping must not wait for it
            fifo = subscription.fifo
            await self.queue_urls.send_message(
                queue_url,
                DRAIN_MESSAGE_PAYLOAD,
                group_id=DRAIN_GROUP_ID if fifo else None,
                deduplication_id=str(uuid.uuid4()) if fifo else None,
                retry=False,
            )

        receiver = SqsReceiver(
            self.queue_urls,
            url,
            on_delivery if self.on_received is None else _told(self.on_received, on_delivery),
            clock=self.clock,
            max_number_of_messages=1 if subscription.fifo else subscription.max_number_of_messages,
            on_missing_queue=redeclare,
            on_drain=drain,
        )
        consumer = SqsConsumer(self, name, receiver)
        self.consumers.add(consumer)
        receiver.start()
        return consumer

    async def publish(self, publication: SnsPublication | SqsPublication) -> str:
        """An :class:`SnsPublication` (SNS Publish) or an :class:`SqsPublication` (SQS SendMessage)."""
        if isinstance(publication, SnsPublication):
            if publication.topic not in self.topic_arns and not publication.overwrite_topic_attributes:
                # one lookup per topic: concurrent first publishes wait for it instead of each looking it up
                lock = self._topic_locks.setdefault(publication.topic, asyncio.Lock())
                async with lock:
                    if publication.topic not in self.topic_arns:
                        return await self._publish(publication)
            return await self._publish(publication)
        try:
            return await setup.send(self.queue_urls, publication)
        except AwsApiError as exc:
            if exc.code != NON_EXISTENT_QUEUE:
                raise
            # a cached queue URL went stale: the URL was forgotten, look the queue up once more
            try:
                return await setup.send(self.queue_urls, publication)
            except AwsApiError as again:
                if again.code == NON_EXISTENT_QUEUE:
                    raise QueueDoesNotExistError(
                        f"The specified queue does not exist: {publication.queue}", operation_name="SendMessage"
                    ) from again
                raise

    async def _publish(self, publication: SnsPublication) -> str:
        cached = publication.topic in self.topic_arns
        try:
            return await setup.publish(self.queue_urls, publication, self.topic_arns)
        except AwsApiError as exc:
            if exc.code != NOT_FOUND or not cached:
                raise
            # the cached topic was deleted (or the endpoint lost its state): look it up / create it again
            self.topic_arns.pop(publication.topic, None)
            return await setup.publish(self.queue_urls, publication, self.topic_arns)

    async def get_queue_url(self, queue_name: str) -> str | None:
        return await self.queue_urls.get_queue_url(queue_name)

    async def close(self) -> None:
        """Cancel consumers and close the client; idempotent (a later call reconnects)."""
        for consumer in list(self.consumers):
            await consumer.cancel()
        await self.client.close()

    def acquire(self) -> None:
        self._users += 1

    async def release(self) -> None:
        self._users = max(0, self._users - 1)
        if self._users == 0 and not self.consumers:
            await self.client.close()


def _told(on_received: DeliveryCallback, on_delivery: DeliveryCallback) -> DeliveryCallback:
    def deliver(delivery: Delivery) -> None:
        on_received(delivery)
        on_delivery(delivery)

    return deliver
