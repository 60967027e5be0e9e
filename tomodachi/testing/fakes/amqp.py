"""``fake_amqp`` on the in-memory wire: the test-facing API over :class:`MemoryAmqpBroker`."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from tomodachi.messaging.amqp.descriptors import AmqpProperties
from tomodachi.messaging.amqp.exceptions import AmqpChannelClosed
from tomodachi.messaging.amqp.memory import MemoryAmqpBroker
from tomodachi.messaging.amqp.memory_records import PublishedMessage as BrokerRecord
from tomodachi.messaging.amqp.naming import decode_routing_key, encode_routing_key
from tomodachi.messaging.broker import environment_of
from tomodachi.messaging.faults import FaultTable
from tomodachi.runtime.clock import Clock
from tomodachi.runtime.observe import MessageLostEvent, report_published
from tomodachi.testing.fakes.amqp_publication import publication_from_test
from tomodachi.testing.fakes.base import (
    DEFAULT_ENVELOPE,
    FakeBase,
    TestSender,
    check_attributes,
    check_exception,
    check_times,
    dead_letter_from_event,
    publish_envelope,
)
from tomodachi.testing.fakes.faults import FaultInjection
from tomodachi.testing.ledger import Ledger
from tomodachi.testing.records import Bus, DeadLetter, Pending, PublishedMessage, QueuedMessage, published_message
from tomodachi.testing.waiting import clock_wait

if TYPE_CHECKING:
    from tomodachi.messaging.amqp.memory_queues import _Message, _Queue


class InMemoryAmqp(FaultInjection, FakeBase):
    """The in-memory RabbitMQ of one test (see :class:`tomodachi.testing.FakeAmqp` for the API)."""

    bus: Bus = "amqp"

    def __init__(
        self, broker: MemoryAmqpBroker, clock: Clock, ledger: Ledger, sender: TestSender | None = None
    ) -> None:
        super().__init__(clock, ledger)
        self.broker = broker
        self.sender = sender or TestSender()
        broker.faults.notify = self._trace
        self._ids = itertools.count(1)

    # -- publishing ------------------------------------------------------------------------------------------

    async def publish(
        self,
        destination: str,
        data: Any,
        *,
        envelope: object = DEFAULT_ENVELOPE,
        attributes: Mapping[str, object] | None = None,
        exchange_name: str = "amq.topic",
        properties: AmqpProperties | None = None,
        service: object = None,
    ) -> PublishedMessage:
        """Publish ``data`` with routing key ``destination`` as another service would (JsonBase envelope unless
        ``envelope`` says otherwise; ``envelope=None`` sends ``data`` as the raw body). ``attributes`` become
        AMQP headers. ``service`` (a service instance) signs the envelope as that service instead of the test."""
        if not isinstance(destination, str) or not destination:
            raise TypeError(f"destination must be a non-empty routing key, not {destination!r}")
        envelope = publish_envelope(envelope)
        check_attributes(attributes)
        sender = service or self.sender
        wire_key = encode_routing_key(destination)
        publication = await publication_from_test(
            sender, destination, data, envelope, attributes, properties, exchange_name, wire_key
        )
        broker = self.broker
        broker.publish_now(publication)
        report_published(environment_of(self.sender).observers, self.sender, "amqp", "amqp", destination)
        return self._record(broker.published[-1])

    def fail_next_publishes(self, times: int = 1, exc: BaseException | type[BaseException] | None = None) -> None:
        """The next ``times`` publishes (by services or the test) raise ``exc`` (default: a closed channel)."""
        count = check_times(times)
        for _ in range(count):
            default = AmqpChannelClosed("injected publish failure", code=504)
            self.broker.inject_publish_fault(check_exception(exc, default))

    def close_channel(self, queue: str) -> int:
        """The channel under the handlers running on ``queue`` closes: their messages are requeued with the
        redelivered flag and delivered again while those handlers run on. Returns how many."""
        self._faults(queue)
        count = int(self.broker.close_channel_under(queue))
        self._trace(f"{queue}: channel closed under {count} running handler(s), messages requeued (close_channel)")
        return count

    def redeliver_in_flight(self, queue: str) -> int:
        """The messages being handled on ``queue`` are delivered again (here: :meth:`close_channel`)."""
        return self.close_channel(queue)

    def _fault_table(self) -> FaultTable:
        return self.broker.faults

    def _resume(self) -> None:
        self.broker.resume()

    # -- views -----------------------------------------------------------------------------------------------

    def _published(self) -> list[PublishedMessage]:
        return [self._record(record) for record in self.broker.published]

    def _record(self, record: BrokerRecord) -> PublishedMessage:
        properties = record.properties
        return published_message(  # by position: one is made per publish
            "amqp",  # bus
            "amqp",  # kind
            decode_routing_key(record.routing_key),  # destination
            record.body,  # payload
            dict(properties.headers),  # attributes
            properties.message_id or "",  # message_id
            self._time(record.timestamp),  # time
            record.queues,  # delivered_to
            record.exchange_name,  # exchange_name
        )

    def queues(self) -> list[str]:
        """Names of the declared queues (dead-letter queues included)."""
        return self.broker.queue_names()

    def messages(self, queue: str) -> list[QueuedMessage]:
        """Every message on ``queue`` (a dead-letter queue's too): those being handled (``in_flight``, unacked)
        first, then the ready ones in delivery order."""
        found = self._known(queue)
        handled = [d._message for d in self.broker.unsettled if d._queue is found]
        return [_queued(queue, m, True) for m in handled] + [_queued(queue, m, False) for m in found.messages]

    def queue_depth(self, queue: str) -> int:
        """Ready (not yet delivered) messages on ``queue``."""
        return len(self._known(queue).messages)

    def consumer_count(self, queue: str) -> int:
        return len(self._known(queue).consumers)

    def _known(self, queue: str) -> _Queue:
        found = self.broker.queues.get(queue)
        if found is None:
            raise KeyError(f"no queue {queue!r}; declared queues: {', '.join(self.queues()) or 'none'}")
        return found

    def _check_queue(self, queue: str | None) -> None:
        if queue is not None and self.broker.queues:  # no queues: the services use other brokers
            self._known(queue)

    def bindings(self, exchange_name: str = "amq.topic") -> list[tuple[str, str]]:
        return self.broker.bindings(exchange_name)

    def _dead_letter(self, event: MessageLostEvent) -> DeadLetter:
        queue = self.broker.queues.get(str(event.delivery.metadata.get("queue_name", "")))
        return dead_letter_from_event(event, queue.dead_letter_queue if queue is not None else None)

    # -- settling --------------------------------------------------------------------------------------------

    def changed(self) -> asyncio.Event:
        return self.broker.changed()

    def busy(self, detail: bool = False) -> list[str]:
        found: list[str] = []
        self.broker.orphans[:] = [d for d in self.broker.orphans if d.handler_task and not d.handler_task.done()]
        for delivery in [*self.broker.unsettled, *self.broker.orphans]:
            if clock_wait(delivery.handler_task, self.clock) is None:
                queue = delivery.metadata.get("queue_name")
                state = "waiting for its handler to start" if delivery.handler_task is None else "being handled"
                by = f" by {delivery.handler}" if delivery.handler else ""
                found.append(f"amqp queue {queue}: a message {state}{by}")
                if not detail:
                    return found
        for queue in self.broker.queues.values():
            if queue.messages and any(c.active and c.in_flight < c.prefetch for c in queue.consumers):
                found.append(f"amqp queue {queue.name}: {len(queue.messages)} ready message(s) for a free consumer")
                if not detail:
                    return found
        return found

    def pending(self) -> list[Pending]:
        items = [
            Pending("amqp", retry.kind, retry.queue_name, retry.due, retry.message_id)
            for retry in self.broker.delayed.values()
        ]
        for delivery in self.broker.unsettled:
            due = clock_wait(delivery.handler_task, self.clock)
            if due is not None:
                queue = str(delivery.metadata.get("queue_name", ""))
                items.append(Pending("amqp", "handler sleep", queue, due, delivery.delivery_id))
        return sorted(items, key=lambda item: item.due)


def _queued(queue: str, message: _Message, in_flight: bool) -> QueuedMessage:
    return QueuedMessage(
        bus="amqp",
        queue=queue,
        message_id=message.properties.message_id or "",
        payload=message.body,
        body=message.body,
        attributes=dict(message.properties.headers),
        receive_count=message.delivery_count,
        in_flight=in_flight,
    )
