"""A faithful in-memory SNS+SQS: topics, queues, subscriptions with filter policies, visibility timeouts on
the Clock, FIFO groups and de-duplication, receive counts and redrive — plus a console view of its state.
The test-facing API over it is :class:`tomodachi.testing.fakes.sns_sqs.InMemorySnsSqs`.

It implements :class:`~tomodachi.messaging.sns_sqs.client.SnsSqsClient` (what AWS offers) and the Broker
interface on top of the same shared set-up, publish and receive code the real broker uses.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from tomodachi.messaging.broker import Delivery, DeliveryCallback, trim_history
from tomodachi.messaging.faults import FaultTable
from tomodachi.messaging.sns_sqs import attributes as attribute_codec
from tomodachi.messaging.sns_sqs import naming, setup
from tomodachi.messaging.sns_sqs.client import (
    INVALID_PARAMETER,
    NON_EXISTENT_QUEUE,
    AwsApiError,
)
from tomodachi.messaging.sns_sqs.consumer import SqsReceiver
from tomodachi.messaging.sns_sqs.descriptors import SnsPublication, SnsSqsSubscription, SqsPublication
from tomodachi.messaging.sns_sqs.memory_sns import MemorySns
from tomodachi.messaging.sns_sqs.memory_state import (
    DEDUP_WINDOW_SECONDS,
    DEFAULT_QUEUE_ATTRIBUTES,
    MessageRecord,
    PublishedRecord,
    _Message,
    _Queue,
    _Subscription,
    _Topic,
    deliverable,
)
from tomodachi.runtime.clock import Clock, RealClock


class _Consumer:
    def __init__(self, broker: MemorySnsSqsBroker, queue: _Queue, receiver: SqsReceiver) -> None:
        self.broker = broker
        self.queue = queue
        self.receiver = receiver
        self.active = True

    async def cancel(self) -> None:
        if self.active:
            self.active = False
            self.queue.consumers -= 1
            self.broker.consumers.discard(self)
            await self.receiver.cancel()
            self.broker._changed()


# called when SQS itself moves a message to a dead-letter queue (receive count exhausted): queue, dlq, message
RedriveListener = Callable[[str, str, "_Message"], None]


class MemorySnsSqsBroker(MemorySns):
    """In-memory SNS+SQS with the same Broker interface as the real one, on the given Clock.

    Console view: ``published``, ``sent``, ``messages(queue)``, ``topics()``, ``queues()``, ``subscriptions()``,
    ``queue_attributes(queue)``, ``dead_letter_queue_of(queue)``, ``unsettled_deliveries()``, ``consumers``.
    Faults: ``inject_receive_fault(exc)``, ``inject_publish_fault(exc)``. Long polls wait for a message (or
    cancellation) rather than for time, so an idle service keeps no timers.
    """

    def __init__(
        self,
        clock: Clock | None = None,
        *,
        region: str = "us-east-1",
        account_id: str = "000000000000",
        history: int | None = None,
    ) -> None:
        """``history``: how many publishes and sends the console view keeps (``None``: all)."""
        self.clock: Clock = clock or RealClock()
        self.history = history
        self.region = region
        self.account_id = account_id
        self._queues: dict[str, _Queue] = {}
        self._topics: dict[str, _Topic] = {}
        self._subscriptions: dict[str, _Subscription] = {}
        self.published: list[PublishedRecord] = []
        self.sent: list[PublishedRecord] = []
        self.consumers: set[_Consumer] = set()
        self.topic_arns: dict[str, str] = {}  # publish-side cache, like the real broker's
        self._sequence = itertools.count(1)
        self._receive_faults: deque[BaseException] = deque()
        self._publish_faults: deque[BaseException] = deque()
        self._unsettled: set[str] = set()  # receipt handles handed out and not yet deleted / re-timed
        self._deliveries: dict[str, Delivery] = {}  # the consumers' deliveries of those receipt handles
        self.redrive_listeners: list[RedriveListener] = []
        self.faults = FaultTable()
        self.orphans: list[Delivery] = []  # deliveries whose message became visible again under their handler
        self._event = asyncio.Event()
        self.closed = False

    # ---- Broker interface -------------------------------------------------------------------------------

    async def declare(self, subscription: SnsSqsSubscription) -> setup.DeclaredQueue:
        return await setup.declare(self, subscription)

    async def consume(self, subscription: SnsSqsSubscription, on_delivery: DeliveryCallback) -> _Consumer:
        name = naming.queue_name_from_arn(subscription.queue_arn) if subscription.queue_arn else subscription.queue_name
        queue = self._queue_by_name(name)

        async def redeclare() -> str:
            return (await self.declare(subscription)).url

        def on_received(delivery: Delivery) -> None:
            handle = str(delivery.metadata.get("receipt_handle", ""))
            if handle in self._unsettled:
                self._deliveries[handle] = delivery
            faults = self.faults.of(queue.name)
            if faults is not None:
                delivery.injected_fault = faults.take_failure()
            on_delivery(delivery)

        receiver = SqsReceiver(
            self,
            queue.url,
            on_received,
            clock=self.clock,
            max_number_of_messages=1 if queue.fifo else subscription.max_number_of_messages,
            on_missing_queue=redeclare,
        )
        consumer = _Consumer(self, queue, receiver)
        queue.consumers += 1
        self.consumers.add(consumer)
        receiver.start()
        return consumer

    async def publish(self, publication: SnsPublication | SqsPublication) -> str:
        """Broker interface: an :class:`SnsPublication` (SNS Publish) or :class:`SqsPublication` (SQS SendMessage)."""
        if isinstance(publication, SnsPublication):
            return await setup.publish(self, publication, self.topic_arns)
        return await setup.send(self, publication)

    async def close(self) -> None:
        self.closed = True
        for consumer in list(self.consumers):
            await consumer.cancel()

    # ---- SQS API ----------------------------------------------------------------------------------------

    async def get_queue_url(self, queue_name: str) -> str | None:
        queue = self._queues.get(queue_name)
        return queue.url if queue else None

    async def create_queue(self, queue_name: str, attributes: Mapping[str, str]) -> str:
        naming.validate_queue_name(queue_name)
        fifo = attributes.get("FifoQueue") == "true"
        if fifo != queue_name.endswith(naming.FIFO_SUFFIX):
            raise AwsApiError(INVALID_PARAMETER, "The name of a FIFO queue can only include ... and end with .fifo")
        existing = self._queues.get(queue_name)
        if existing is not None:
            if any(existing.attributes.get(k) != v for k, v in attributes.items()):
                raise AwsApiError("QueueAlreadyExists", f"queue {queue_name} exists with different attributes")
            return existing.url
        url = f"https://sqs.{self.region}.amazonaws.com/{self.account_id}/{queue_name}"
        arn = f"arn:aws:sqs:{self.region}:{self.account_id}:{queue_name}"
        self._queues[queue_name] = _Queue(queue_name, url, arn, {**DEFAULT_QUEUE_ATTRIBUTES, **attributes})
        return url

    async def get_queue_attributes(self, queue_url: str) -> dict[str, str]:
        queue = self._queue_by_url(queue_url)
        return {**queue.attributes, "QueueArn": queue.arn}

    async def set_queue_attributes(self, queue_url: str, attributes: Mapping[str, str]) -> None:
        queue = self._queue_by_url(queue_url)
        for key, value in attributes.items():
            if key in ("FifoQueue", "QueueArn"):
                raise AwsApiError(INVALID_PARAMETER, f"attribute {key} cannot be changed")
            if key == "RedrivePolicy" and value:
                target = json.loads(value)["deadLetterTargetArn"]
                if not any(q.arn == target for q in self._queues.values()):
                    raise AwsApiError(NON_EXISTENT_QUEUE, f"dead-letter target {target} does not exist")
            if value == "" and key in ("RedrivePolicy", "Policy"):
                queue.attributes.pop(key, None)
            else:
                queue.attributes[key] = str(value)

    async def receive_messages(
        self, queue_url: str, max_number_of_messages: int, wait_time_seconds: float
    ) -> list[dict[str, Any]]:
        while True:
            if self._receive_faults:
                raise self._receive_faults.popleft()
            if self.faults.outage:
                raise AwsApiError("ServiceUnavailable", "SQS unreachable (injected outage)")
            queue = self._queue_by_url(queue_url)
            batch = self._take(queue, max(1, min(10, max_number_of_messages)))
            if batch or wait_time_seconds <= 0:
                return batch
            self._event.clear()
            await self._event.wait()

    async def delete_message(self, queue_url: str, receipt_handle: str) -> None:
        queue = self._queue_by_url(queue_url)
        self._settled(receipt_handle)
        for message in queue.messages:
            if message.receipt_handle == receipt_handle:
                if message.timer is not None:
                    message.timer.cancel()
                queue.messages.remove(message)
                break
        self._changed()

    async def change_message_visibility(self, queue_url: str, receipt_handle: str, visibility_timeout: int) -> None:
        queue = self._queue_by_url(queue_url)
        message = next((m for m in queue.messages if m.receipt_handle == receipt_handle and not m.visible), None)
        if message is None:
            raise AwsApiError("ReceiptHandleIsInvalid", "the receipt handle has expired")
        self._settled(receipt_handle)
        self._hide(queue, message, float(visibility_timeout))
        self._changed()

    async def send_message(
        self,
        queue_url: str,
        body: str,
        *,
        message_attributes: Mapping[str, Any] | None = None,
        group_id: str | None = None,
        deduplication_id: str | None = None,
        delay_seconds: int | None = None,
    ) -> str:
        self._publish_fault()
        queue = self._queue_by_url(queue_url)
        attributes = dict(message_attributes or {})
        message_id = self._enqueue(queue, body, attributes, group_id, deduplication_id, delay_seconds)
        record = PublishedRecord(
            topic="",
            message=body,
            message_attributes=attribute_codec.decode(attributes),
            message_id=message_id,
            timestamp=self.clock.time(),
            group_id=group_id,
            deduplication_id=deduplication_id,
            delivered_to=[queue.name],
            queue=queue.name,
        )
        self.sent.append(record)
        self.published.append(record)  # one log of everything sent, in order
        trim_history(self.sent, self.history)
        trim_history(self.published, self.history)
        return message_id

    # ---- console view and fault injection ---------------------------------------------------------------

    def queues(self) -> list[str]:
        return list(self._queues)

    def queue_attributes(self, queue: str) -> dict[str, str]:
        q = self._queue_by_name(queue)
        return {**q.attributes, "QueueArn": q.arn}

    def messages(self, queue: str) -> list[MessageRecord]:
        q = self._queue_by_name(queue)
        return [self._record(q, m) for m in q.messages]

    @staticmethod
    def _record(queue: _Queue, m: _Message) -> MessageRecord:
        attributes = attribute_codec.decode(m.attributes)
        in_flight = not m.visible
        return MessageRecord(
            queue.name, m.message_id, m.body, attributes, m.receive_count, m.group_id, m.deduplication_id, in_flight
        )

    def dead_letter_queue_of(self, queue: str) -> str | None:
        policy = self._queue_by_name(queue).attributes.get("RedrivePolicy")
        return naming.queue_name_from_arn(json.loads(policy)["deadLetterTargetArn"]) if policy else None

    def unsettled_deliveries(self) -> list[Delivery]:
        """Deliveries handed to consumers and neither deleted nor re-timed yet."""
        return [self._deliveries[h] for h in self._unsettled if h in self._deliveries]

    def forget_receipt(self, receipt_handle: str) -> None:
        """A consumer died holding ``receipt_handle``: nobody will settle it; the message shows again once its
        visibility timeout runs out."""
        self._settled(receipt_handle)

    def unsettled_count(self) -> int:
        return len(self._unsettled)

    def hidden_messages(self, queue: str) -> list[tuple[float, MessageRecord]]:
        """``(visible_at, message)`` for each message of ``queue`` waiting on the clock to become visible."""
        q = self._queue_by_name(queue)
        return [(m.visible_at, self._record(q, m)) for m in q.messages if not m.visible and m.timer is not None]

    def has_deliverable(self, queue: str) -> bool:
        return bool(deliverable(self._queue_by_name(queue), 1))

    def inject_receive_fault(self, exc: BaseException) -> None:
        """The next ReceiveMessage call raises ``exc`` (one fault per call, used in order)."""
        self._receive_faults.append(exc)
        self._changed()

    def inject_publish_fault(self, exc: BaseException) -> None:
        """The next Publish / SendMessage call raises ``exc`` (one fault per call, used in order)."""
        self._publish_faults.append(exc)

    def changed(self) -> asyncio.Event:
        """Set on every state change; clear it before waiting on it."""
        return self._event

    # ---- internals --------------------------------------------------------------------------------------

    def _changed(self) -> None:
        self._event.set()

    def _settled(self, receipt_handle: str) -> None:
        self._unsettled.discard(receipt_handle)
        self._deliveries.pop(receipt_handle, None)

    def _publish_fault(self) -> None:
        if self._publish_faults:
            raise self._publish_faults.popleft()
        if self.faults.outage:
            raise AwsApiError("ServiceUnavailable", "SNS+SQS unreachable (injected outage)")

    def _queue_by_name(self, name: str) -> _Queue:
        queue = self._queues.get(name)
        if queue is None:
            raise AwsApiError(NON_EXISTENT_QUEUE, f"The specified queue does not exist: {name}")
        return queue

    def _queue_by_url(self, url: str) -> _Queue:
        return self._queue_by_name(naming.queue_name_from_url(url))

    def _queue_by_arn(self, arn: str) -> _Queue:
        return self._queue_by_name(naming.queue_name_from_arn(arn))

    def _queue_by_arn_or_none(self, arn: str) -> _Queue | None:
        return self._queues.get(naming.queue_name_from_arn(arn))

    def _enqueue(
        self,
        queue: _Queue,
        body: str,
        attributes: dict[str, Any],
        group_id: str | None,
        deduplication_id: str | None,
        delay_seconds: int | None,
    ) -> str:
        dedup_key: tuple[str, str] | None = None
        if queue.fifo:
            if not group_id:
                raise AwsApiError("MissingParameter", "The request must contain the parameter MessageGroupId.")
            if not deduplication_id:
                if queue.attributes.get("ContentBasedDeduplication") == "true":
                    deduplication_id = hashlib.sha256(body.encode("utf-8")).hexdigest()
                else:
                    raise AwsApiError(
                        INVALID_PARAMETER,
                        "The queue should either have ContentBasedDeduplication "
                        "enabled or MessageDeduplicationId provided explicitly",
                    )
            if delay_seconds:
                raise AwsApiError(INVALID_PARAMETER, "FIFO queues do not support per-message DelaySeconds")
            now = self.clock.monotonic()
            queue.dedup = {k: v for k, v in queue.dedup.items() if v[0] > now}
            scope = group_id if queue.attributes.get("DeduplicationScope") == "messageGroup" else ""
            dedup_key = (scope, deduplication_id)
            if dedup_key in queue.dedup:
                return queue.dedup[dedup_key][1]
        elif group_id and queue.attributes.get("FifoQueue") != "true":
            raise AwsApiError(INVALID_PARAMETER, "MessageGroupId is only valid for FIFO queues")
        message = _Message(
            message_id=str(uuid.uuid4()),
            body=body,
            attributes=attributes,
            group_id=group_id,
            deduplication_id=deduplication_id,
            sent_at=self.clock.time(),
            sequence=next(self._sequence),
        )
        if dedup_key is not None:
            queue.dedup[dedup_key] = (
                self.clock.monotonic() + DEDUP_WINDOW_SECONDS,
                message.message_id,
            )
        queue.messages.append(message)
        delay = float(delay_seconds if delay_seconds is not None else queue.attributes.get("DelaySeconds", "0"))
        faults = self.faults.of(queue.name)
        copies = [message]
        if faults is not None:
            copies += [replace(message, sequence=next(self._sequence)) for _ in range(faults.take_copies() - 1)]
            queue.messages.extend(copies[1:])  # at-least-once: the same message (same MessageId) again
            delay += faults.take_latency()
        if delay > 0:
            for copy in copies:
                self._hide(queue, copy, delay)
        self._changed()
        return message.message_id

    def expire_visibility(self, queue_name: str) -> int:
        """Messages of ``queue_name`` being handled become visible again now, as when a handler outlives the
        visibility timeout: they are delivered again, their handlers run on. Returns how many."""
        queue = self._queue_by_name(queue_name)
        expired = [m for m in queue.messages if not m.visible and m.receipt_handle in self._unsettled]
        for message in expired:
            delivery = self._deliveries.get(str(message.receipt_handle))
            if delivery is not None:
                self.orphans.append(delivery)
            if message.timer is not None:
                message.timer.cancel()
            self._reveal(queue, message, message.receipt_handle)
        return len(expired)

    def _hide(self, queue: _Queue, message: _Message, seconds: float) -> None:
        if message.timer is not None:
            message.timer.cancel()
        message.visible = False
        message.visible_at = self.clock.time() + max(0.0, seconds)
        handle = message.receipt_handle
        if seconds <= 0:
            self._reveal(queue, message, handle)
            return
        message.timer = self.clock.call_later(seconds, self._reveal, queue, message, handle)

    def _reveal(self, queue: _Queue, message: _Message, handle: str | None) -> None:
        if message.receipt_handle != handle or message not in queue.messages:
            return
        message.timer = None
        message.visible = True
        if handle is not None:
            self._settled(handle)
        self._changed()

    def _take(self, queue: _Queue, limit: int) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = []
        max_receives, dlq = self._redrive(queue)
        faults = self.faults.of(queue.name)
        while len(result) < limit:
            if faults is not None and faults.shuffle is not None and not queue.fifo:
                candidates = deliverable(queue, len(queue.messages))
                faults.shuffle.shuffle(candidates)
                del candidates[limit - len(result) :]
            else:
                candidates = deliverable(queue, limit - len(result))
            if not candidates:
                break
            moved = False
            for message in candidates:
                if dlq is not None and max_receives is not None and message.receive_count >= max_receives:
                    # SQS moves a message to the dead-letter queue once its receive count is exhausted
                    queue.messages.remove(message)
                    dlq.messages.append(
                        _Message(
                            message.message_id,
                            message.body,
                            message.attributes,
                            message.group_id,
                            message.deduplication_id,
                            message.sent_at,
                            message.sequence,
                            receive_count=message.receive_count,
                        )
                    )
                    moved = True
                    for listener in self.redrive_listeners:
                        listener(queue.name, dlq.name, message)
                    self._changed()  # wake the dead-letter queue's consumers
                    continue
                message.receive_count += 1
                message.receipt_handle = str(uuid.uuid4())
                self._unsettled.add(message.receipt_handle)
                self._hide(queue, message, float(queue.attributes.get("VisibilityTimeout", "30")))
                attributes: dict[str, str] = {
                    "ApproximateReceiveCount": str(message.receive_count),
                    "SentTimestamp": str(int(message.sent_at * 1000)),
                }
                if message.group_id:
                    attributes["MessageGroupId"] = message.group_id
                if message.deduplication_id:
                    attributes["MessageDeduplicationId"] = message.deduplication_id
                entry: dict[str, Any] = {
                    "MessageId": message.message_id,
                    "ReceiptHandle": message.receipt_handle,
                    "Body": message.body,
                    "Attributes": attributes,
                }
                if message.attributes:
                    entry["MessageAttributes"] = dict(message.attributes)
                result.append(entry)
            if not moved:
                break
        return result

    def _redrive(self, queue: _Queue) -> tuple[int | None, _Queue | None]:
        policy = queue.attributes.get("RedrivePolicy")
        if not policy:
            return None, None
        parsed = json.loads(policy)
        return int(parsed["maxReceiveCount"]), self._queue_by_arn_or_none(parsed["deadLetterTargetArn"])
