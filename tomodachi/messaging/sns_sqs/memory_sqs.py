"""The SQS half of the in-memory AWS: queues, send/receive/delete, visibility and delays on the Clock, redrive."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import uuid
from collections import Counter, deque
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from tomodachi.messaging.broker import Delivery, trim_history
from tomodachi.messaging.faults import FaultTable
from tomodachi.messaging.sns_sqs import attributes as attribute_codec
from tomodachi.messaging.sns_sqs import limits, naming
from tomodachi.messaging.sns_sqs.client import INVALID_PARAMETER, NON_EXISTENT_QUEUE, AwsApiError
from tomodachi.messaging.sns_sqs.consumer import DRAIN_MESSAGE_PAYLOAD
from tomodachi.messaging.sns_sqs.memory_state import (
    DEDUP_WINDOW_SECONDS,
    DEFAULT_QUEUE_ATTRIBUTES,
    PublishedRecord,
    _Message,
    _Queue,
    deliverable,
)
from tomodachi.runtime.clock import Clock, RealClock

MAX_DELAY_SECONDS = 900  # SendMessage's DelaySeconds: 0 to 15 minutes

# called when SQS itself moves a message to a dead-letter queue (receive count exhausted): queue, dlq, message
RedriveListener = Callable[[str, str, _Message], None]


class MemorySqs:
    """SQS in memory, on ``clock``. Long polls wait for a message (or cancellation) rather than for time, so an
    idle consumer keeps no timers. ``calls`` counts the API calls made, by method name.

    Receipt handles handed out and not yet deleted or re-timed are *unsettled*; ``faults`` (a
    :class:`FaultTable`) and the injected per-call faults make SQS misbehave where it can.
    """

    def __init__(
        self,
        clock: Clock | None = None,
        *,
        region: str = "us-east-1",
        account_id: str = "000000000000",
        history: int | None = None,
    ) -> None:
        """``history``: how many publishes and sends ``published`` keeps (``None``: all)."""
        self.clock: Clock = clock or RealClock()
        self.history = history
        self.region = region
        self.account_id = account_id
        self.calls: Counter[str] = Counter()
        self.published: list[PublishedRecord] = []  # every Publish and SendMessage, in order
        self.faults = FaultTable()
        self.redrive_listeners: list[RedriveListener] = []
        self._queues: dict[str, _Queue] = {}
        self._sequence = itertools.count(1)
        self._receive_faults: deque[BaseException] = deque()
        self._publish_faults: deque[BaseException] = deque()
        self._unsettled: set[str] = set()  # receipt handles handed out and not yet deleted / re-timed
        self._deliveries: dict[str, Delivery] = {}  # the consumers' deliveries of those receipt handles
        self._event = asyncio.Event()

    async def close(self) -> None:
        """Nothing to release: the state lives on for the next user."""

    # ---- SQS API ----------------------------------------------------------------------------------------

    async def get_queue_url(self, queue_name: str) -> str | None:
        self.calls["get_queue_url"] += 1
        queue = self._queues.get(queue_name)
        return queue.url if queue else None

    async def create_queue(self, queue_name: str, attributes: Mapping[str, str]) -> str:
        self.calls["create_queue"] += 1
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

    async def delete_queue(self, queue_url: str) -> None:
        """SQS DeleteQueue: the queue and its messages are gone (its URL answers ``NonExistentQueue``)."""
        self.calls["delete_queue"] += 1
        queue = self._queue_by_url(queue_url)
        for message in queue.messages:
            if message.timer is not None:
                message.timer.cancel()
            if message.receipt_handle is not None:
                self._settled(message.receipt_handle)
        del self._queues[queue.name]
        self._changed()

    async def get_queue_attributes(self, queue_url: str) -> dict[str, str]:
        self.calls["get_queue_attributes"] += 1
        queue = self._queue_by_url(queue_url)
        return {**queue.attributes, "QueueArn": queue.arn}

    async def set_queue_attributes(self, queue_url: str, attributes: Mapping[str, str]) -> None:
        self.calls["set_queue_attributes"] += 1
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
        self.calls["receive_messages"] += 1
        drains_seen = -1
        while True:
            if self._receive_faults:
                raise self._receive_faults.popleft()
            if self.faults.outage:
                raise AwsApiError("ServiceUnavailable", "SQS unreachable (injected outage)")
            queue = self._queue_by_url(queue_url)
            batch = self._take(queue, max(1, min(10, max_number_of_messages)))
            if batch or wait_time_seconds <= 0:
                return batch
            if 0 <= drains_seen != queue.drains:
                # another poll took the drain marker sent to end this one: end empty, as a long poll may on AWS,
                # rather than leave a stopping receiver waiting on a clock nobody moves
                return batch
            drains_seen = queue.drains
            self._event.clear()
            await self._event.wait()

    async def delete_message(self, queue_url: str, receipt_handle: str) -> None:
        self.calls["delete_message"] += 1
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
        self.calls["change_message_visibility"] += 1
        queue = self._queue_by_url(queue_url)
        message = next((m for m in queue.messages if m.receipt_handle == receipt_handle), None)
        if message is None:
            raise AwsApiError("ReceiptHandleIsInvalid", f"The receipt handle {receipt_handle!r} is not valid.")
        if message.visible:
            raise AwsApiError("AWS.SimpleQueueService.MessageNotInflight", "Message is not in flight.")
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
        retry: bool = True,
    ) -> str:
        self.calls["send_message"] += 1
        if delay_seconds is not None and not 0 <= delay_seconds <= MAX_DELAY_SECONDS:
            raise AwsApiError(
                INVALID_PARAMETER,
                f"Value {delay_seconds} for parameter DelaySeconds is invalid. Reason: must be between 0 and "
                f"{MAX_DELAY_SECONDS}, if provided.",
            )
        marker = body == DRAIN_MESSAGE_PAYLOAD
        # the per-call faults stand for the next sends of services and tests, not for a stopping receiver's marker
        self._publish_fault(injected=not marker)
        queue = self._queue_by_url(queue_url)
        attributes = dict(message_attributes or {})
        limits.check_sqs_message(body, attributes, limits.queue_maximum_size(queue.attributes))
        message_id = self._enqueue(queue, body, attributes, group_id, deduplication_id, delay_seconds, marker=marker)
        if not marker:
            self._log(
                PublishedRecord(
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
            )
        return message_id

    # ---- internals --------------------------------------------------------------------------------------

    def _log(self, record: PublishedRecord) -> None:
        self.published.append(record)
        trim_history(self.published, self.history)

    def _changed(self) -> None:
        self._event.set()

    def _settled(self, receipt_handle: str) -> None:
        self._unsettled.discard(receipt_handle)
        self._deliveries.pop(receipt_handle, None)

    def _publish_fault(self, injected: bool = True) -> None:
        if injected and self._publish_faults:
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
        *,
        marker: bool = False,
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
            marker=marker,
        )
        if dedup_key is not None:
            queue.dedup[dedup_key] = (
                self.clock.monotonic() + DEDUP_WINDOW_SECONDS,
                message.message_id,
            )
        queue.messages.append(message)
        delay = float(delay_seconds if delay_seconds is not None else queue.attributes.get("DelaySeconds", "0"))
        # a fault plan decides for the messages of services and tests only
        faults = None if marker else self.faults.of(queue.name)
        copies = [message]
        if faults is not None:
            copies += [replace(message, sequence=next(self._sequence)) for _ in range(faults.take_copies() - 1)]
            queue.messages.extend(copies[1:])  # at-least-once: the same message (same MessageId) again
            delay += faults.take_latency()
        if delay > 0:
            for copy in copies:
                self._hide(queue, copy, delay)
        if marker:
            queue.drains += 1
        self._changed()
        return message.message_id

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
                    self._move(queue, dlq, message)
                    moved = True
                    continue
                result.append(self._receive(queue, message))
            if not moved:
                break
        return result

    def _move(self, queue: _Queue, dlq: _Queue, message: _Message) -> None:
        """SQS moves a message to the dead-letter queue once its receive count is exhausted."""
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
                marker=message.marker,
            )
        )
        if not message.marker:
            for listener in self.redrive_listeners:
                listener(queue.name, dlq.name, message)
        self._changed()  # wake the dead-letter queue's consumers

    def _receive(self, queue: _Queue, message: _Message) -> dict[str, Any]:
        """Hand ``message`` out: a new receipt handle, hidden for the queue's visibility timeout."""
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
        return entry

    def _redrive(self, queue: _Queue) -> tuple[int | None, _Queue | None]:
        policy = queue.attributes.get("RedrivePolicy")
        if not policy:
            return None, None
        parsed = json.loads(policy)
        return int(parsed["maxReceiveCount"]), self._queue_by_arn_or_none(parsed["deadLetterTargetArn"])
