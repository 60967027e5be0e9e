"""The AMQP transport of one service: declare and bind in ``setup()``, consume in ``start()``, drain in ``stop()``."""

from __future__ import annotations

import asyncio
import functools
import logging
from dataclasses import dataclass
from typing import Any

from tomodachi.handler_check import SignatureFinding, message_findings, report_findings
from tomodachi.messaging.amqp.api import amqp
from tomodachi.messaging.amqp.descriptors import AmqpSubscription
from tomodachi.messaging.amqp.exceptions import INTERNAL_SERVICE_ERRORS
from tomodachi.messaging.amqp.naming import dead_letter_queue_name, decode_routing_key, prefixed_routing_key, queue_name
from tomodachi.messaging.amqp.settings import AmqpSettings, get_broker
from tomodachi.messaging.broker import Consumer, Delivery, remember_environment
from tomodachi.messaging.pipeline import (
    UNSET,
    MessagePipeline,
    MessagingProfile,
    Unwrapped,
    resolve_envelope,
    resolve_error_policy,
)
from tomodachi.messaging.shutdown import CANCEL_TIMEOUT, cancel_tasks, wait_tasks
from tomodachi.runtime.transport import BoundHandler, TransportContext
from tomodachi.settings_check import warn_ignored_parser_kwargs

logger = logging.getLogger("tomodachi.amqp")

# the transport values ``amqp_profile`` hands to handlers by name (next to the envelope's and ``message``)
INJECTED_VALUES: tuple[str, ...] = ("routing_key", "exchange_name", "properties")


def amqp_profile(routing_key_prefix: str = "") -> MessagingProfile:
    """How AMQP deliveries map onto the pipeline; ``routing_key`` is the delivered key minus the prefix."""

    def unwrap(delivery: Delivery) -> Unwrapped:
        key = decode_routing_key(str(delivery.metadata.get("routing_key", "")))
        if routing_key_prefix and key.startswith(routing_key_prefix):
            key = key[len(routing_key_prefix) :]
        return Unwrapped(
            payload=delivery.body,
            values={
                "routing_key": key,
                "exchange_name": delivery.metadata.get("exchange_name", ""),
                "properties": delivery.metadata.get("properties"),
            },
        )

    return MessagingProfile(
        transport="amqp",
        handler_type="amqp",
        positional=("routing_key",),
        internal_errors=INTERNAL_SERVICE_ERRORS,
        pre_middleware_attribute="_amqp_message_pre_middleware",
        unwrap=unwrap,
    )


@dataclass
class _Subscriber:
    handler: BoundHandler
    subscription: AmqpSubscription
    pipeline: MessagePipeline
    consumer: Consumer | None = None


def build_subscription(handler: BoundHandler, service: Any, settings: AmqpSettings) -> AmqpSubscription:
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
    )


class AmqpTransport:
    """Serves every ``@amqp`` handler of one service instance (see ``runtime.transport.Transport``)."""

    def __init__(self, context: TransportContext) -> None:
        self.context = context
        self.service = context.service
        self.clock = context.environment.clock
        self.settings = AmqpSettings.from_options(context.options)
        self.broker: Any = None
        self.subscribers: list[_Subscriber] = []
        self._in_flight: dict[asyncio.Task[None], Delivery] = {}
        self._handing_back: set[asyncio.Task[None]] = set()  # referenced until done, so failures get logged
        self._accepting = False
        self._stopped = False
        remember_environment(self.service, context.environment)

    async def setup(self) -> None:
        from tomodachi.envelope.base import validate_envelope
        from tomodachi.runtime import context as execution_context

        self.broker = get_broker(self.context.environment, self.settings)
        acquire = getattr(self.broker, "acquire", None)
        if acquire is not None:  # brokers that own a connection close it when their last transport stops
            acquire()
        profile = amqp_profile(self.settings.routing_key_prefix)
        findings: list[SignatureFinding] = []
        for handler in self.context.handlers:
            args = handler.spec.args
            envelope = args.get("message_envelope", UNSET)
            if envelope is UNSET:
                envelope = resolve_envelope(self.service)
                validate_envelope(envelope, **args.get("parser_kwargs", {}))
            where = f"{type(self.service).__name__}.{handler.name}"
            warn_ignored_parser_kwargs(amqp, where, envelope, args.get("parser_kwargs") or {})
            pipeline = MessagePipeline(
                service=self.service,
                handler=handler.func,
                handler_name=handler.name,
                profile=profile,
                environment=self.context.environment,
                envelope=envelope,
                parser_kwargs=args.get("parser_kwargs"),
                callback_kwargs=args.get("callback_kwargs"),
                error_policy=resolve_error_policy(self.service, args.get("max_receive_count")),
            )
            findings += message_findings(
                handler,
                self.service,
                envelope=envelope,
                values=INJECTED_VALUES,
                pre_middleware_attribute=profile.pre_middleware_attribute,
            )
            subscription = build_subscription(handler, self.service, self.settings)
            self.subscribers.append(_Subscriber(handler, subscription, pipeline))
        # every handler is checked before the first queue is declared
        report_findings(self.context, findings)
        for subscriber in self.subscribers:
            await self.broker.declare(subscriber.subscription)
        execution_context.set_execution_context(
            {"amqp_enabled": True, "aioamqp_version": _aioamqp_version()}
            | {key: execution_context.get_execution_context().get(key, 0) for key in _TASK_KEYS}
        )

    async def start(self) -> None:
        self._accepting = True
        for subscriber in self.subscribers:
            subscriber.consumer = await self.broker.consume(subscriber.subscription, self._callback(subscriber))

    def _callback(self, subscriber: _Subscriber) -> Any:
        def on_delivery(delivery: Delivery) -> None:
            if not self._accepting:
                # a delivery racing our consumer cancel: hand it straight back (stop awaits these)
                hand_back = asyncio.get_running_loop().create_task(delivery.retry(0))
                self._handing_back.add(hand_back)
                hand_back.add_done_callback(self._handed_back)
                return
            task = asyncio.get_running_loop().create_task(subscriber.pipeline.handle(delivery))
            self._in_flight[task] = delivery
            task.add_done_callback(self._finished)

        return on_delivery

    def _handed_back(self, task: asyncio.Task[None]) -> None:
        self._handing_back.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("failed to hand a message back to the broker", exc_info=task.exception())

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._in_flight.pop(task, None)
        if not task.cancelled() and task.exception() is not None:
            logger.error("message pipeline failed", exc_info=task.exception())

    def in_flight(self) -> list[Delivery]:
        """The deliveries being handled right now."""
        return list(self._in_flight.values())

    async def stop(self, grace_period: float) -> None:
        if self._stopped:
            return
        self._stopped = True
        self._accepting = False
        for subscriber in self.subscribers:
            if subscriber.consumer is not None:
                try:
                    await subscriber.consumer.cancel()
                except Exception:
                    logger.exception("failed to cancel amqp consumer", extra={"handler": subscriber.handler.name})
        if await wait_tasks(self._handing_back, self.clock, CANCEL_TIMEOUT):
            logger.warning("messages handed back while stopping are still unsettled; the broker redelivers them")
        try:
            await self._await_in_flight(grace_period)
        except Exception:
            logger.exception("failed to await the in-flight amqp handlers")
        release = getattr(self.broker, "release", None)
        if release is not None:
            try:
                await release()
            except Exception:
                logger.exception("failed to release the amqp broker")

    async def _await_in_flight(self, grace_period: float) -> None:
        """Await handlers up to the grace period; cut the rest off and hand their messages back (requeue)."""
        unfinished = await wait_tasks(self._in_flight, self.clock, grace_period)
        if not unfinished:
            return
        logger.warning(
            "amqp handlers did not finish within the grace period; their messages are requeued",
            extra={"count": len(unfinished)},
        )
        cut_off = [self._in_flight.get(task) for task in unfinished]
        stuck = await cancel_tasks(unfinished, self.clock)
        if stuck:
            # swallowed its CancelledError: hand the message back anyway; a later settle is ignored
            logger.error("amqp handlers did not end after being cancelled; moving on", extra={"count": len(stuck)})
        for delivery in cut_off:
            if delivery is not None and not delivery.settled:
                try:
                    await delivery.retry(0)
                except Exception:
                    # left unacked: the broker redelivers it once the channel closes
                    logger.exception("failed to hand an in-flight amqp message back")


_TASK_KEYS = ("amqp_current_tasks", "amqp_total_tasks")


@functools.cache  # reading package metadata costs more than starting a service in a test
def _aioamqp_version() -> str:
    from importlib import metadata

    try:
        return metadata.version("aioamqp")
    except metadata.PackageNotFoundError:
        return ""


def create_transport(context: TransportContext) -> AmqpTransport:
    return AmqpTransport(context)
