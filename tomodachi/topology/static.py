"""The static wiring of service files: each service's routes, subscriptions and schedules, without starting it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Protocol

from tomodachi.handlers import HandlerSpec, handler_method
from tomodachi.service import discover_handlers
from tomodachi.topology.model import Route, Schedule, ServiceWiring, Subscription, Topology

if TYPE_CHECKING:
    from tomodachi.options import Options
    from tomodachi.runtime.transport import BoundHandler


class ConfiguredService(Protocol):
    """A service instance with its options applied: what the subscriptions' names are worked out from."""

    @property
    def options(self) -> Options: ...


ROUTE_KINDS = {"http": "http", "websocket": "websocket", "http_static": "static", "http_error": "error"}


def static_topology(files: Sequence[str], config: Mapping[str, object] | None = None) -> Topology:
    """Import each file and describe every service class in it, configured as ``tomodachi run -c`` would.

    Service instances are created (``__init__`` runs, as on a start) but nothing is started or connected."""
    from tomodachi.runtime.container import ServiceContainer
    from tomodachi.runtime.environment import Environment
    from tomodachi.runtime.importer import load_services

    environment = Environment()
    topology = Topology()
    for file in files:
        path, classes = load_services(file)
        for cls in classes:
            container = ServiceContainer(cls, environment, config=config, file_path=str(path))
            container.instantiate()
            topology.services.append(describe_service(container.instance, file=str(file)))
            container.forget()
    return topology


def describe_service(instance: ConfiguredService, *, file: str | None = None) -> ServiceWiring:
    """The wiring of a configured service instance (its options applied), in handler definition order."""
    routes: list[Route] = []
    subscriptions: list[Subscription] = []
    schedules: list[Schedule] = []
    for attr_name, spec in discover_handlers(type(instance)):
        if spec.transport == "http":
            routes.append(_route(attr_name, spec))
        elif spec.transport == "schedule":
            schedules.append(Schedule(attr_name, _when(spec.args)))
        elif spec.transport == "amqp":
            subscriptions.append(_amqp_subscription(instance, attr_name, spec))
        elif spec.transport == "aws_sns_sqs":
            subscriptions.append(_sns_sqs_subscription(instance, attr_name, spec))
    name = str(getattr(instance, "name", None) or type(instance).__name__)
    return ServiceWiring(name, file, tuple(routes), tuple(subscriptions), tuple(schedules))


def _route(handler: str, spec: HandlerSpec) -> Route:
    kind = ROUTE_KINDS.get(spec.kind, spec.kind)
    if kind == "error":
        return Route(handler, kind, (), f"status {spec.args.get('status_code')}")
    return Route(handler, kind, tuple(spec.args.get("methods") or ("GET",)), str(spec.args.get("url", "")))


def _when(args: Mapping[str, object]) -> str:
    interval, timestamp, zone = args.get("interval"), args.get("timestamp"), args.get("timezone")
    if isinstance(interval, (int, float)) and not isinstance(interval, bool):
        when = f"every {interval:g} s"
    elif interval:
        when = str(interval)
    else:
        when = f"at {timestamp}"
    return f"{when} ({zone})" if zone else when


def _bound(instance: object, attr_name: str, spec: HandlerSpec) -> BoundHandler:
    from tomodachi.runtime.transport import BoundHandler

    return BoundHandler(name=attr_name, func=handler_method(instance, attr_name), spec=spec)


def _amqp_subscription(instance: ConfiguredService, attr_name: str, spec: HandlerSpec) -> Subscription:
    from tomodachi.messaging.amqp.naming import decode_routing_key
    from tomodachi.messaging.amqp.settings import AmqpSettings
    from tomodachi.messaging.amqp.subscribers import build_subscription

    built = build_subscription(_bound(instance, attr_name, spec), instance, AmqpSettings.from_options(instance.options))
    return Subscription(
        handler=attr_name,
        bus="amqp",
        source=decode_routing_key(built.binding_key),
        queue=built.queue_name,
        dead_letter_queue=built.dead_letter_queue,
        exchange=built.exchange_name,
    )


def _sns_sqs_subscription(instance: ConfiguredService, attr_name: str, spec: HandlerSpec) -> Subscription:
    from tomodachi.messaging.sns_sqs.descriptors import UNSET
    from tomodachi.messaging.sns_sqs.naming import decode_topic, is_queue_arn, queue_name_from_arn
    from tomodachi.messaging.sns_sqs.subscribers import build_subscription

    built = build_subscription(_bound(instance, attr_name, spec), instance, instance.options)
    dead_letter = built.dead_letter_queue if isinstance(built.dead_letter_queue, str) else None
    if dead_letter is not None and is_queue_arn(dead_letter):
        dead_letter = queue_name_from_arn(dead_letter)
    policy = built.filter_policy if built.filter_policy is not UNSET else None
    return Subscription(
        handler=attr_name,
        bus="aws_sns_sqs",
        source=decode_topic(built.topic) if built.topic else None,
        queue=built.queue_name,
        dead_letter_queue=dead_letter,
        filter_policy=policy if isinstance(policy, Mapping) else None,
        fifo=built.fifo,
    )
