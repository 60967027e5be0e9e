"""A service process dying mid-work, in-process: what it was handling is never acknowledged and comes back."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tomodachi.messaging.amqp.memory import MemoryAmqpBroker, MemoryAmqpDelivery
from tomodachi.messaging.broker import Delivery
from tomodachi.messaging.sns_sqs.memory import MemorySnsSqsBroker
from tomodachi.messaging.subscribers import Subscribers
from tomodachi.testing.handle import ServiceHandle


def in_flight(handle: ServiceHandle[Any]) -> list[Delivery]:
    """The deliveries the service's messaging transports are handling right now."""
    found: list[Delivery] = []
    for bus in ("amqp", "aws_sns_sqs"):
        transport = handle.container.transports.get(bus)
        if isinstance(transport, Subscribers):
            found += transport.in_flight()
    return found


def abandon(deliveries: list[Delivery], brokers: Mapping[str, MemoryAmqpBroker | MemorySnsSqsBroker]) -> None:
    """Leave ``deliveries`` unsettled, as a dead process does: an AMQP channel closes (the messages are requeued
    with the redelivered flag); an SQS receipt is never used again (the message shows after its visibility
    timeout). Later settle calls of the dying service do nothing. ``brokers``: the test's in-memory brokers by bus."""
    amqp, sqs = brokers.get("amqp"), brokers.get("aws_sns_sqs")
    channel: list[MemoryAmqpDelivery] = []
    for delivery in deliveries:
        if delivery.settled:
            continue
        if isinstance(delivery, MemoryAmqpDelivery):
            channel.append(delivery)
        elif isinstance(sqs, MemorySnsSqsBroker):
            sqs.forget_receipt(str(delivery.metadata.get("receipt_handle", "")))
        delivery.abandon()  # first settle wins: the dying transport's hand-back is ignored
    if channel and isinstance(amqp, MemoryAmqpBroker):
        amqp.close_channel_of(channel, consumers_gone=True)
