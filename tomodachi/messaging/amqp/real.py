"""The RabbitMQ broker on aioamqp — not implemented yet (a later issue); this stub fixes its interface."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tomodachi.messaging.broker import DeliveryCallback

if TYPE_CHECKING:
    from tomodachi.messaging.amqp.descriptors import AmqpPublication, AmqpSubscription
    from tomodachi.messaging.amqp.settings import AmqpSettings
    from tomodachi.runtime.clock import Clock

NOT_AVAILABLE = (
    "real RabbitMQ broker not available yet: run the service under the test harness (fake_amqp) "
    "or register a broker in Environment.broker_factories['amqp']"
)


class AioamqpBroker:
    """Will hold one aioamqp connection + channel; declare/consume/publish/close as in tomodachi.messaging.broker.

    Planned mapping: ``declare`` → exchange_declare / queue_declare (durable, x-expires) / queue_bind and the
    dead-letter exchange + queue; ``consume`` → basic_qos + basic_consume (manual ack); ``Delivery.ack`` →
    basic_client_ack; ``retry(delay)`` → hold for ``delay`` on the Clock, then basic_client_nack(requeue=True);
    ``dead_letter`` → publish to the dead-letter exchange, then ack.
    """

    def __init__(self, settings: AmqpSettings, clock: Clock) -> None:
        self.settings = settings
        self.clock = clock

    async def declare(self, subscription: AmqpSubscription) -> None:
        raise NotImplementedError(NOT_AVAILABLE)

    async def consume(self, subscription: AmqpSubscription, on_delivery: DeliveryCallback) -> Any:
        raise NotImplementedError(NOT_AVAILABLE)

    async def publish(self, publication: AmqpPublication) -> Any:
        raise NotImplementedError(NOT_AVAILABLE)

    async def close(self) -> None:
        return None


def create_broker(settings: AmqpSettings, clock: Clock) -> AioamqpBroker:
    """Default factory used when the Environment has no ``amqp`` broker factory."""
    raise NotImplementedError(NOT_AVAILABLE)
