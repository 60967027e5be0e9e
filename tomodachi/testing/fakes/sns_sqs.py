"""``fake_sns_sqs`` on the in-memory wire: the test-facing API over the SNS+SQS broker and its in-memory AWS."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from tomodachi.messaging.broker import environment_of
from tomodachi.messaging.faults import FaultTable
from tomodachi.messaging.sns_sqs import attributes as attribute_codec
from tomodachi.messaging.sns_sqs import naming
from tomodachi.messaging.sns_sqs.api import formatted_send_body
from tomodachi.messaging.sns_sqs.client import AwsApiError
from tomodachi.messaging.sns_sqs.consumer import PARKED_VISIBILITY_TIMEOUT
from tomodachi.messaging.sns_sqs.descriptors import SnsPublication, SqsPublication
from tomodachi.messaging.sns_sqs.exceptions import QueueDoesNotExistError
from tomodachi.messaging.sns_sqs.memory import MemorySnsSqsBroker, MemorySnsSqsClient
from tomodachi.messaging.sns_sqs.memory_state import MessageRecord, PublishedRecord, SubscriptionRecord
from tomodachi.runtime.clock import Clock
from tomodachi.runtime.observe import MessageLostEvent, report_published
from tomodachi.testing.fakes.base import (
    DEFAULT_ENVELOPE,
    FakeBase,
    TestSender,
    build_body,
    check_attributes,
    check_exception,
    check_times,
    dead_letter_from_event,
    notification_attributes,
    publish_envelope,
    raw_text,
)
from tomodachi.testing.fakes.faults import FaultInjection
from tomodachi.testing.ledger import Ledger
from tomodachi.testing.records import (
    Bus,
    DeadLetter,
    Pending,
    PublishedMessage,
    QueuedMessage,
    published_message,
    unwrapped_sqs_body,
)
from tomodachi.testing.waiting import clock_wait


class InMemorySnsSqs(FaultInjection, FakeBase):
    """The in-memory SNS+SQS of one test (see :class:`tomodachi.testing.FakeSnsSqs` for the API): publishes go
    through ``broker`` (the production broker code), records and faults come from its in-memory AWS (``broker.aws``)."""

    bus: Bus = "aws_sns_sqs"

    def __init__(
        self, broker: MemorySnsSqsBroker, clock: Clock, ledger: Ledger, sender: TestSender | None = None
    ) -> None:
        super().__init__(clock, ledger)
        self.broker = broker
        self._aws: MemorySnsSqsClient = broker.aws
        self.sender = sender or TestSender()
        self._aws.faults.notify = self._trace
        self._aws.redrive_listeners.append(self._redriven)

    # -- publishing ------------------------------------------------------------------------------------------

    async def publish(
        self,
        destination: str,
        data: Any,
        *,
        envelope: Any = DEFAULT_ENVELOPE,
        attributes: Mapping[str, Any] | None = None,
        group_id: str | None = None,
        deduplication_id: str | None = None,
        topic_prefix: str = "",
        service: Any = None,
    ) -> PublishedMessage:
        """SNS Publish to topic ``destination`` as another service would (JsonBase envelope unless ``envelope``
        says otherwise; ``envelope=None`` sends ``data`` as the raw message). ``attributes`` are SNS message
        attributes (what filter policies match); ``group_id`` makes it a FIFO publish."""
        if not isinstance(destination, str) or not destination:
            raise TypeError(f"destination must be a non-empty topic name, not {destination!r}")
        envelope = publish_envelope(envelope)
        check_attributes(attributes)
        message = await build_body(envelope, service or self.sender, destination, data, message_attributes={})
        publication = SnsPublication(
            topic=naming.sns_topic_name(destination, topic_prefix, fifo=bool(group_id)),
            message=message if isinstance(message, str) else message.decode("utf-8"),
            message_attributes=attribute_codec.encode(attributes),
            group_id=group_id,
            deduplication_id=deduplication_id,
        )
        message_id = await self.broker.publish(publication)
        report_published(
            environment_of(self.sender).observers,
            self.sender,
            "aws_sns_sqs",
            "sns",
            publication.topic,
            naming.decode_topic,
        )
        return self._record(self._last_published(message_id))

    async def send(
        self,
        queue: str,
        data: Any,
        *,
        envelope: Any = DEFAULT_ENVELOPE,
        attributes: Mapping[str, Any] | None = None,
        group_id: str | None = None,
        deduplication_id: str | None = None,
        delay_seconds: int | None = None,
    ) -> PublishedMessage:
        """SQS SendMessage straight to ``queue`` (JsonBase envelope unless ``envelope`` says otherwise)."""
        envelope = publish_envelope(envelope)
        check_attributes(attributes)
        if envelope is None:
            body = raw_text(data)
        else:  # as a service's aws_sns_sqs_send_message formats it
            queue_url = await self.broker.get_queue_url(queue)
            if queue_url is None:
                raise QueueDoesNotExistError(f"Cannot send message to non-existent SQS queue: {queue}")
            body = await formatted_send_body(self.sender, data, queue, queue_url, envelope, {})
        publication = SqsPublication(
            queue=queue,
            body=body,
            message_attributes=attribute_codec.encode(attributes),
            group_id=group_id,
            deduplication_id=deduplication_id,
            delay_seconds=delay_seconds,
        )
        message_id = await self.broker.publish(publication)
        report_published(
            environment_of(self.sender).observers, self.sender, "aws_sns_sqs", "sqs", queue, naming.readable_queue_name
        )
        return self._record(self._last_published(message_id))

    def _last_published(self, message_id: str) -> PublishedRecord:
        """The record of the publish that answered ``message_id`` (the latest: a FIFO duplicate repeats an id)."""
        for record in reversed(self._aws.published):
            if record.message_id == message_id:
                return record
        return self._aws.published[-1]

    def fail_next_publishes(self, times: int = 1, exc: BaseException | type[BaseException] | None = None) -> None:
        """The next ``times`` Publish / SendMessage calls (by services or the test) raise ``exc``."""
        for _ in range(check_times(times)):
            default = AwsApiError("InternalError", "injected publish failure")
            self._aws.inject_publish_fault(check_exception(exc, default))

    def fail_next_receives(self, times: int = 1, exc: BaseException | type[BaseException] | None = None) -> None:
        """The next ``times`` ReceiveMessage calls raise ``exc``; consumers back off on the clock and retry."""
        for _ in range(check_times(times)):
            default = AwsApiError("ServiceUnavailable", "injected receive failure")
            self._aws.inject_receive_fault(check_exception(exc, default))

    def expire_visibility(self, queue: str) -> int:
        """The messages being handled on ``queue`` become visible again now, as when a handler outlives the
        visibility timeout: they are delivered a second time while those handlers run on. Returns how many."""
        self._faults(queue)
        count = self._aws.expire_visibility(queue)
        self._trace(f"{queue}: {count} message(s) visible again under running handlers (expire_visibility)")
        return count

    def redeliver_in_flight(self, queue: str) -> int:
        """The messages being handled on ``queue`` are delivered again (here: :meth:`expire_visibility`)."""
        return self.expire_visibility(queue)

    def _fault_table(self) -> FaultTable:
        return self._aws.faults

    def _resume(self) -> None:
        self._aws.changed().set()

    # -- views -----------------------------------------------------------------------------------------------

    def _published(self) -> list[PublishedMessage]:
        dead_letter_queues = {self._aws.dead_letter_queue_of(q) for q in self._aws.queues()}
        return [
            self._record(record)
            for record in self._aws.published
            if record.queue is None or record.queue not in dead_letter_queues
        ]

    def _record(self, record: PublishedRecord) -> PublishedMessage:
        if record.queue is not None:
            kind, destination = "sqs", record.queue
        else:
            kind, destination = "sns", naming.decode_topic(record.topic)
            if record.group_id and destination.endswith(naming.FIFO_SUFFIX):
                destination = destination[: -len(naming.FIFO_SUFFIX)]
        return published_message(
            bus="aws_sns_sqs",
            kind="sqs" if kind == "sqs" else "sns",
            destination=destination,
            payload=record.message,
            attributes=dict(record.message_attributes),
            message_id=record.message_id,
            time=self._time(record.timestamp),
            delivered_to=tuple(record.delivered_to),
            group_id=record.group_id,
            deduplication_id=record.deduplication_id,
        )

    def queues(self) -> list[str]:
        return self._aws.queues()

    def topics(self) -> list[str]:
        return self._aws.topics()

    def subscriptions(self, topic: str | None = None) -> list[SubscriptionRecord]:
        return self._aws.subscriptions(topic)

    def queue_attributes(self, queue: str) -> dict[str, str]:
        self._declared(queue)
        return self._aws.queue_attributes(queue)

    def dead_letter_queue_of(self, queue: str) -> str | None:
        self._declared(queue)
        return self._aws.dead_letter_queue_of(queue)

    def messages(self, queue: str) -> list[QueuedMessage]:
        """Every message on ``queue``: visible, in flight, or delayed (``in_flight`` says which are hidden)."""
        self._declared(queue)
        return [_queued(record) for record in self._aws.messages(queue)]

    def _declared(self, queue: str) -> None:
        """A queue the test names must exist: the same error as fake_amqp's, not the SQS API's."""
        if queue not in self.queues():
            raise KeyError(f"no queue {queue!r}; declared queues: {', '.join(self.queues()) or 'none'}")

    def _check_queue(self, queue: str | None) -> None:
        queues = self._aws.queues()
        if queue is not None and queues and queue not in queues:  # no queues: the services use other brokers
            raise KeyError(f"no queue {queue!r}; declared queues: {', '.join(self.queues()) or 'none'}")

    def _dead_letter(self, event: MessageLostEvent) -> DeadLetter:
        queue = str(event.delivery.metadata.get("queue_url", "")).rstrip("/").rsplit("/", 1)[-1]
        try:
            target = self._aws.dead_letter_queue_of(queue)
        except AwsApiError:
            target = None
        return dead_letter_from_event(event, target)

    def _redriven(self, queue: str, dead_letter_queue: str, message: Any) -> None:
        self.ledger.record_loss(
            DeadLetter(
                bus="aws_sns_sqs",
                queue=queue,
                handler=None,
                reason=f"received {message.receive_count} time(s) without being deleted: SQS moved it (redrive)",
                payload=unwrapped_sqs_body(message.body),
                attributes=attribute_codec.decode(message.attributes) or notification_attributes(message.body),
                receive_count=message.receive_count,
                kept=True,
                time=self.clock.now(),
                message_id=message.message_id,
                dead_letter_queue=dead_letter_queue,
            )
        )

    # -- settling --------------------------------------------------------------------------------------------

    def changed(self) -> asyncio.Event:
        return self._aws.changed()

    def busy(self, detail: bool = False) -> list[str]:
        found: list[str] = []
        deliveries = self._aws.unsettled_deliveries()
        if self._aws.unsettled_count() > len(deliveries):
            found.append("sns+sqs: received messages on their way to a consumer")
            if not detail:
                return found
        busy_queues: set[str] = set()
        orphans = self._aws.orphans
        orphans[:] = [d for d in orphans if d.handler_task and not d.handler_task.done()]
        for delivery in [*deliveries, *orphans]:
            queue = naming.queue_name_from_url(str(delivery.metadata.get("queue_url", "")))
            busy_queues.add(queue)
            if clock_wait(delivery.handler_task, self.clock) is None:
                state = "waiting for its handler to start" if delivery.handler_task is None else "being handled"
                by = f" by {delivery.handler}" if delivery.handler else ""
                found.append(f"sqs queue {queue}: message {delivery.delivery_id} {state}{by}")
                if not detail:
                    return found
        for consumer in list(self.broker.consumers):
            queue = consumer.queue_name
            if queue in busy_queues or not consumer.active or not self._aws.has_deliverable(queue):
                continue
            if clock_wait(consumer.receiver.task, self.clock) is None:
                found.append(f"sqs queue {queue}: visible messages for a receiving consumer")
                if not detail:
                    return found
        return found

    def pending(self) -> list[Pending]:
        items: list[Pending] = []
        consumed = {consumer.queue_name for consumer in self.broker.consumers if consumer.active}
        now = self.clock.time()
        for queue in consumed:
            for visible_at, record in self._aws.hidden_messages(queue):
                if record.receive_count and visible_at - now >= PARKED_VISIBILITY_TIMEOUT - 1:
                    continue  # parked after a failure with no dead-letter queue: a loss, not pending work
                kind = "visibility timeout" if record.receive_count else "message delay"
                items.append(Pending("aws_sns_sqs", kind, queue, self._time(visible_at), record.message_id))
        for consumer in list(self.broker.consumers):
            due = clock_wait(consumer.receiver.task, self.clock)
            if due is not None and consumer.active:
                items.append(Pending("aws_sns_sqs", "consumer back-off", consumer.queue_name, due))
        for delivery in self._aws.unsettled_deliveries():
            due = clock_wait(delivery.handler_task, self.clock)
            if due is not None:
                queue = naming.queue_name_from_url(str(delivery.metadata.get("queue_url", "")))
                items.append(Pending("aws_sns_sqs", "handler sleep", queue, due, delivery.delivery_id))
        return sorted(items, key=lambda item: item.due)


def _queued(record: MessageRecord) -> QueuedMessage:
    return QueuedMessage(
        bus="aws_sns_sqs",
        queue=record.queue,
        message_id=record.message_id,
        payload=record.payload,
        body=record.body,
        attributes=dict(record.message_attributes) or notification_attributes(record.body),
        receive_count=record.receive_count,
        in_flight=record.in_flight,
        group_id=record.group_id,
        deduplication_id=record.deduplication_id,
    )
