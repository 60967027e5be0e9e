"""The in-memory AWS (:class:`MemorySnsSqsClient`, with its console view) and :class:`MemorySnsSqsBroker`, the
production broker over it: what tests (through ``testing/fakes/sns_sqs.py``) and ``--brokers memory`` run on."""

from __future__ import annotations

import asyncio
import json

from tomodachi.messaging.broker import Delivery
from tomodachi.messaging.faults import FaultTable
from tomodachi.messaging.sns_sqs import attributes as attribute_codec
from tomodachi.messaging.sns_sqs import naming
from tomodachi.messaging.sns_sqs.broker import SnsSqsBroker
from tomodachi.messaging.sns_sqs.memory_sns import MemorySns
from tomodachi.messaging.sns_sqs.memory_state import (
    MessageRecord,
    PublishedRecord,
    SubscriptionRecord,
    _Message,
    _Queue,
    deliverable,
)
from tomodachi.runtime.clock import Clock


class MemorySnsSqsClient(MemorySns):
    """The in-memory AWS: the :class:`SnsSqsClient` operations, plus what a console shows and what a test harness
    needs to know (which received messages are still unsettled and by which delivery, what waits on the clock).
    A faithful SNS+SQS: topics, queues, subscriptions with filter policies, queue policies, visibility timeouts
    and delays on the Clock, FIFO groups and de-duplication, receive counts and redrive.

    Console view: ``published``, ``queues()``, ``topics()``, ``subscriptions()``, ``messages(queue)``,
    ``queue_attributes(queue)``, ``dead_letter_queue_of(queue)``. Faults: ``inject_receive_fault(exc)``,
    ``inject_publish_fault(exc)``, ``faults`` (per queue, outage, fault plans), ``expire_visibility(queue)``.
    Drain markers (a stopping receiver's) are in none of these views.
    """

    def __init__(
        self,
        clock: Clock | None = None,
        *,
        region: str = "us-east-1",
        account_id: str = "000000000000",
        history: int | None = None,
    ) -> None:
        super().__init__(clock, region=region, account_id=account_id, history=history)
        self.orphans: list[Delivery] = []  # deliveries whose message became visible again under their handler

    # ---- console view -----------------------------------------------------------------------------------

    def queues(self) -> list[str]:
        return list(self._queues)

    def queue_attributes(self, queue: str) -> dict[str, str]:
        q = self._queue_by_name(queue)
        return {**q.attributes, "QueueArn": q.arn}

    def messages(self, queue: str) -> list[MessageRecord]:
        q = self._queue_by_name(queue)
        return [_record(q, m) for m in q.messages if not m.marker]

    def dead_letter_queue_of(self, queue: str) -> str | None:
        policy = self._queue_by_name(queue).attributes.get("RedrivePolicy")
        return naming.queue_name_from_arn(json.loads(policy)["deadLetterTargetArn"]) if policy else None

    # ---- for a test harness -----------------------------------------------------------------------------

    def received(self, delivery: Delivery) -> None:
        """A consumer got ``delivery``: remember which delivery holds its receipt, and make it a failed attempt
        if a fault says so."""
        handle = str(delivery.metadata.get("receipt_handle", ""))
        if handle in self._unsettled:
            self._deliveries[handle] = delivery
        if self.faults.queues or self.faults.planner is not None:
            faults = self.faults.of(naming.queue_name_from_url(str(delivery.metadata.get("queue_url", ""))))
            if faults is not None:
                delivery.injected_fault = faults.take_failure()

    def unsettled_deliveries(self) -> list[Delivery]:
        """Deliveries handed to consumers and neither deleted nor re-timed yet."""
        return [self._deliveries[h] for h in self._unsettled if h in self._deliveries]

    def unsettled_count(self) -> int:
        """Receipt handles handed out and neither deleted nor re-timed yet (with or without a delivery)."""
        return len(self._unsettled)

    def forget_receipt(self, receipt_handle: str) -> None:
        """A consumer died holding ``receipt_handle``: nobody will settle it; the message shows again once its
        visibility timeout runs out."""
        self._settled(receipt_handle)

    def hidden_messages(self, queue: str) -> list[tuple[float, MessageRecord]]:
        """``(visible_at, message)`` for each message of ``queue`` waiting on the clock to become visible."""
        q = self._queues.get(queue)
        if q is None:
            return []
        return [
            (m.visible_at, _record(q, m)) for m in q.messages if not m.visible and m.timer is not None and not m.marker
        ]

    def has_deliverable(self, queue: str) -> bool:
        """Whether a receive on ``queue`` would get a message now (a drain marker included: it is work for a
        receiver until deleted)."""
        q = self._queues.get(queue)
        return q is not None and bool(deliverable(q, 1))

    def expire_visibility(self, queue_name: str) -> int:
        """Messages of ``queue_name`` being handled become visible again now, as when a handler outlives the
        visibility timeout: they are delivered again, their handlers run on. Returns how many."""
        queue = self._queue_by_name(queue_name)
        expired = [m for m in queue.messages if not m.visible and m.receipt_handle in self._unsettled and not m.marker]
        for message in expired:
            delivery = self._deliveries.get(str(message.receipt_handle))
            if delivery is not None:
                self.orphans.append(delivery)
            if message.timer is not None:
                message.timer.cancel()
            self._reveal(queue, message, message.receipt_handle)
        return len(expired)

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


def _record(queue: _Queue, m: _Message) -> MessageRecord:
    attributes = attribute_codec.decode(m.attributes)
    return MessageRecord(
        queue.name, m.message_id, m.body, attributes, m.receive_count, m.group_id, m.deduplication_id, not m.visible
    )


class MemorySnsSqsBroker(SnsSqsBroker):
    """The production SNS+SQS broker over an in-memory AWS (``aws``, a new :class:`MemorySnsSqsClient` on ``clock``
    unless given): what tests and ``tomodachi run --brokers memory`` run on.

    The console view (``published``, ``queues()``, ``messages(queue)`` …), ``faults``, ``changed()`` and
    ``forget_receipt()`` are the in-memory AWS's, reachable here as well for the inspect view and the harness.
    """

    def __init__(
        self,
        clock: Clock | None = None,
        *,
        region: str = "us-east-1",
        account_id: str = "000000000000",
        history: int | None = None,
        aws: MemorySnsSqsClient | None = None,
    ) -> None:
        self.aws = aws or MemorySnsSqsClient(clock, region=region, account_id=account_id, history=history)
        super().__init__(self.aws, self.aws.clock, on_received=self.aws.received)

    @property
    def published(self) -> list[PublishedRecord]:
        return self.aws.published

    @property
    def faults(self) -> FaultTable:
        return self.aws.faults

    def queues(self) -> list[str]:
        return self.aws.queues()

    def topics(self) -> list[str]:
        return self.aws.topics()

    def subscriptions(self, topic: str | None = None) -> list[SubscriptionRecord]:
        return self.aws.subscriptions(topic)

    def messages(self, queue: str) -> list[MessageRecord]:
        return self.aws.messages(queue)

    def queue_attributes(self, queue: str) -> dict[str, str]:
        return self.aws.queue_attributes(queue)

    def dead_letter_queue_of(self, queue: str) -> str | None:
        return self.aws.dead_letter_queue_of(queue)

    def changed(self) -> asyncio.Event:
        return self.aws.changed()

    def forget_receipt(self, receipt_handle: str) -> None:
        self.aws.forget_receipt(receipt_handle)
