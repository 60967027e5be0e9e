"""A service process dying mid-work, in-process: what it was handling is never acknowledged and comes back."""

from __future__ import annotations

from typing import Any

from tomodachi.messaging.amqp.memory import MemoryAmqpBroker, MemoryAmqpDelivery
from tomodachi.messaging.amqp.transport import AmqpTransport
from tomodachi.messaging.broker import Delivery
from tomodachi.messaging.sns_sqs.memory import MemorySnsSqsBroker
from tomodachi.messaging.sns_sqs.transport import SnsSqsTransport
from tomodachi.testing.handle import ServiceHandle


def in_flight(handle: ServiceHandle[Any]) -> list[Delivery]:
    """The deliveries the service's messaging transports are handling right now."""
    found: list[Delivery] = []
    for bus in ("amqp", "aws_sns_sqs"):
        transport = handle.container.transports.get(bus)
        if isinstance(transport, (AmqpTransport, SnsSqsTransport)):
            found += transport.in_flight()
    return found


def abandon(deliveries: list[Delivery], amqp: MemoryAmqpBroker | None, sqs: MemorySnsSqsBroker | None) -> None:
    """Leave ``deliveries`` unsettled, as a dead process does: an AMQP channel closes (the messages are requeued
    with the redelivered flag); an SQS receipt is never used again (the message shows after its visibility
    timeout). Later settle calls of the dying service do nothing."""
    channel: list[MemoryAmqpDelivery] = []
    for delivery in deliveries:
        if delivery.settled:
            continue
        if isinstance(delivery, MemoryAmqpDelivery):
            channel.append(delivery)
        elif sqs is not None:
            sqs.forget_receipt(str(delivery.metadata.get("receipt_handle", "")))
        delivery.abandon()  # first settle wins: the dying transport's hand-back is ignored
    if channel and amqp is not None:
        amqp.close_channel_of(channel, consumers_gone=True)
