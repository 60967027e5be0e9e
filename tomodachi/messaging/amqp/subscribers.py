"""The ``@amqp`` handlers of one service: each queue declared and bound in ``setup()``, consumed in ``start()``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from tomodachi.messaging.amqp.api import amqp
from tomodachi.messaging.amqp.descriptors import AmqpBrokerProtocol, AmqpPublication, AmqpSubscription
from tomodachi.messaging.amqp.exceptions import INTERNAL_SERVICE_ERRORS
from tomodachi.messaging.amqp.naming import dead_letter_queue_name, decode_routing_key, prefixed_routing_key, queue_name
from tomodachi.messaging.amqp.settings import AmqpSettings, get_broker
from tomodachi.messaging.broker import Delivery
from tomodachi.messaging.pipeline import BusAdapter, Unwrapped, resolve_error_policy
from tomodachi.messaging.subscribers import Subscriber, Subscribers, package_version
from tomodachi.runtime.transport import BoundHandler, TransportContext

if TYPE_CHECKING:
    from tomodachi.envelope.base import MessageParser

# the transport values ``amqp_adapter`` hands to handlers by name (next to the envelope's and ``message``)
INJECTED_VALUES: tuple[str, ...] = ("routing_key", "exchange_name", "properties")


def amqp_adapter(routing_key_prefix: str = "") -> BusAdapter:
    """How AMQP deliveries map onto the pipeline; ``routing_key`` is the delivered key minus the prefix."""

    def unwrap(delivery: Delivery) -> Unwrapped:
        metadata = delivery.metadata
        key = decode_routing_key(str(metadata.get("routing_key", "")))
        if routing_key_prefix and key.startswith(routing_key_prefix):
            key = key[len(routing_key_prefix) :]
        values = {
            "routing_key": key,
            "exchange_name": metadata.get("exchange_name", ""),
            "properties": metadata.get("properties"),
        }
        return Unwrapped(delivery.body, values)

    return BusAdapter(
        bus="amqp",
        handler_type="amqp",
        positional=("routing_key",),
        internal_errors=INTERNAL_SERVICE_ERRORS,
        pre_middleware_attribute="_amqp_message_pre_middleware",
        unwrap=unwrap,
    )


def build_subscription(handler: BoundHandler, service: object, settings: AmqpSettings) -> AmqpSubscription:
    args = handler.spec.args
    routing_key: str = args["routing_key"]
    competing = bool(args.get("competing"))
    explicit_name = args.get("queue_name")
    func_name = getattr(handler.func, "__name__", handler.name)
    queue = queue_name(
        routing_key,
        func_name,
        str(getattr(service, "uuid", "")),
        competing=competing,
        explicit_name=explicit_name,
        prefix=settings.queue_name_prefix,
    )
    queue_ttl = settings.queue_ttl or None
    # a per-instance (uuid-hashed) queue is new on every start: its dead-letter queue must expire with it, or
    # each start leaks one; dead letters of shared (competing / named) queues are kept until someone looks
    per_instance = not competing and not explicit_name
    return AmqpSubscription(
        exchange_name=args.get("exchange_name") or settings.exchange_name,
        binding_key=prefixed_routing_key(routing_key, settings.routing_key_prefix),
        queue_name=queue,
        competing=competing,
        queue_ttl=queue_ttl,
        prefetch_count=settings.queue_prefetch_count,
        dead_letter_queue=dead_letter_queue_name(queue),
        dead_letter_queue_ttl=queue_ttl if per_instance else None,
        channel=f"{getattr(service, 'name', '')}:{getattr(service, 'uuid', '')}:{id(service)}",
        global_prefetch_count=settings.global_prefetch_count,
    )


class AmqpSubscribers(Subscribers[AmqpSubscription, AmqpPublication, None]):
    """Serves every ``@amqp`` handler of one service instance (a runtime ``Transport``)."""

    bus = "amqp"
    logger_name = "tomodachi.amqp"
    decorator = amqp
    injected_values = INJECTED_VALUES

    def __init__(self, context: TransportContext) -> None:
        super().__init__(context)
        self.settings = AmqpSettings.from_options(context.options)
        self.adapter = amqp_adapter(self.settings.routing_key_prefix)

    def open_broker(self) -> AmqpBrokerProtocol:
        return get_broker(self.environment, self.settings)

    def subscriber(self, handler: BoundHandler, envelope: MessageParser | None) -> Subscriber[AmqpSubscription]:
        policy = resolve_error_policy(self.service, handler.spec.args.get("max_receive_count"))
        pipeline = self.build_pipeline(handler, self.adapter, envelope, policy)
        return Subscriber(handler, build_subscription(handler, self.service, self.settings), pipeline)

    def facts(self) -> Mapping[str, object]:
        return {"aioamqp_version": package_version("aioamqp")}


def create_transport(context: TransportContext) -> AmqpSubscribers:
    return AmqpSubscribers(context)
