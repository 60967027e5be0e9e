"""What the AMQP and SNS+SQS transports share: one subscriber per handler, the check of every handler before the first
declare, in-flight tracking, and the graceful stop (hand-back of deliveries racing the cancel, grace period)."""

from __future__ import annotations

import asyncio
import functools
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from tomodachi.handler_check import SignatureFinding, message_findings, report_findings
from tomodachi.logging import framework_logger
from tomodachi.messaging.broker import Broker, Consumer, Delivery, DeliveryCallback, remember_environment
from tomodachi.messaging.envelope_choice import resolve_envelope
from tomodachi.messaging.pipeline import BusAdapter, ErrorPolicy, MessagePipeline
from tomodachi.messaging.runner import DeliveryRunner
from tomodachi.messaging.shutdown import CANCEL_TIMEOUT, cancel_tasks, wait_tasks
from tomodachi.messaging.unset import UNSET
from tomodachi.runtime.transport import BoundHandler, TransportContext
from tomodachi.settings_check import warn_ignored_parser_kwargs

if TYPE_CHECKING:
    from tomodachi.envelope.base import MessageParser

SubscriptionT = TypeVar("SubscriptionT")
PublicationT = TypeVar("PublicationT")
DeclaredT = TypeVar("DeclaredT")


@dataclass
class Subscriber(Generic[SubscriptionT]):
    """One handler of one service: the queue it consumes (``subscription``), the pipeline its deliveries run
    through and, once consuming, its consumer."""

    handler: BoundHandler
    subscription: SubscriptionT
    pipeline: MessagePipeline
    consumer: Consumer | None = field(default=None, kw_only=True)


class Subscribers(ABC, Generic[SubscriptionT, PublicationT, DeclaredT]):
    """The handlers of one service on one bus, run as a runtime ``Transport``: ``setup()`` checks every handler,
    then declares each queue; ``start()`` consumes; ``stop()`` stops consuming at once, hands back deliveries that
    race the consumer cancel, lets in-flight handlers finish within the grace period, and releases the broker.

    A bus's subclass opens its broker and builds one :class:`Subscriber` per handler."""

    bus: ClassVar[str]  # "amqp" / "aws_sns_sqs": the Environment's task counter and the execution-context prefix
    logger_name: ClassVar[str]
    decorator: ClassVar[Callable[..., object]]  # the handlers' decorator: its parameters name the known arguments
    injected_values: ClassVar[tuple[str, ...]]  # the transport values the pipeline hands to handlers by name

    def __init__(self, context: TransportContext) -> None:
        self.context = context
        self.service = context.service
        self.environment = context.environment
        self.clock = context.environment.clock
        self.logger = framework_logger(self.logger_name)
        self.broker: Broker[SubscriptionT, PublicationT, DeclaredT] | None = None
        self.subscribers: list[Subscriber[SubscriptionT]] = []
        # each delivery being handled, and its task (``None`` until it starts: the runner's drain task runs it)
        self._in_flight: dict[Delivery, asyncio.Task[Any] | None] = {}
        self._runner = DeliveryRunner(self._in_flight, self.logger)
        self._handing_back: set[asyncio.Task[None]] = set()  # referenced until done, so failures get logged
        self._accepting = False
        self._stopped = False
        remember_environment(self.service, self.environment)

    # -- what a bus supplies -------------------------------------------------------------------------------

    @abstractmethod
    def open_broker(self) -> Broker[SubscriptionT, PublicationT, DeclaredT]:
        """The broker of this service's connection settings, from the Environment."""

    @abstractmethod
    def subscriber(self, handler: BoundHandler, envelope: MessageParser | None) -> Subscriber[SubscriptionT]:
        """The subscriber of one handler (its subscription descriptor and pipeline)."""

    def facts(self) -> Mapping[str, object]:
        """Execution-context facts beyond ``<bus>_enabled`` (library versions)."""
        return {}

    def before_declare(self) -> None:
        """Called once every subscriber is built, before the first declare."""

    def declared(self, subscriber: Subscriber[SubscriptionT], result: DeclaredT) -> None:
        """Called with what the broker answered to the declare of ``subscriber``'s subscription."""

    # -- lifecycle ----------------------------------------------------------------------------------------

    async def setup(self) -> None:
        broker = self.broker = self.open_broker()
        broker.acquire()  # balanced in stop(), which runs after a failed setup too
        findings: list[SignatureFinding] = []
        for handler in self.context.handlers:
            envelope = self._envelope(handler)
            subscriber = self.subscriber(handler, envelope)
            findings += message_findings(
                handler,
                self.service,
                envelope=envelope,
                values=self.injected_values,
                pre_middleware_attribute=subscriber.pipeline.adapter.pre_middleware_attribute,
            )
            self.subscribers.append(subscriber)
        # every handler is checked before the first queue is declared
        report_findings(self.context, findings)
        self.before_declare()
        for subscriber in self.subscribers:
            self.declared(subscriber, await broker.declare(subscriber.subscription))
        self.environment.execution.enable(self.bus, self.facts())

    async def start(self) -> None:
        assert self.broker is not None, "start() follows a successful setup()"
        self._accepting = True
        for subscriber in self.subscribers:
            subscriber.consumer = await self.broker.consume(subscriber.subscription, self._on_delivery(subscriber))

    async def stop(self, grace_period: float) -> None:
        """Each step runs even when the one before failed (it is logged), so in-flight handlers are always awaited
        and the broker always released; a second call does nothing."""
        if self._stopped:
            return
        self._stopped = True
        self._accepting = False
        for subscriber in self.subscribers:
            consumer, subscriber.consumer = subscriber.consumer, None
            if consumer is None:
                continue
            try:
                await consumer.cancel()
            except Exception:
                self.logger.exception(f"failed to cancel the {self.bus} consumer", handler=subscriber.handler.name)
        if await wait_tasks(self._handing_back, self.clock, CANCEL_TIMEOUT):
            self.logger.warning("messages handed back while stopping are still unsettled; the broker redelivers them")
        try:
            await self._finish_in_flight(grace_period)
        except Exception:
            self.logger.exception(f"failed to await the in-flight {self.bus} handlers")
        if self.broker is not None:
            try:
                await self.broker.release()
            except Exception:
                self.logger.exception(f"failed to release the {self.bus} broker")

    def in_flight(self) -> list[Delivery]:
        """The deliveries being handled right now."""
        return list(self._in_flight)

    # -- building -----------------------------------------------------------------------------------------

    def build_pipeline(
        self, handler: BoundHandler, adapter: BusAdapter, envelope: MessageParser | None, error_policy: ErrorPolicy
    ) -> MessagePipeline:
        """The pipeline of one handler, from its decorator arguments."""
        args = handler.spec.args
        return MessagePipeline(
            service=self.service,
            handler=handler.func,
            handler_name=handler.name,
            adapter=adapter,
            environment=self.environment,
            envelope=envelope,
            parser_kwargs=args.get("parser_kwargs"),
            callback_kwargs=args.get("callback_kwargs"),
            error_policy=error_policy,
        )

    def _envelope(self, handler: BoundHandler) -> MessageParser | None:
        """The handler's envelope: the decorator's, else the service's (checked here: the decorator could not)."""
        args = handler.spec.args
        parser_kwargs = args.get("parser_kwargs") or {}
        given = args.get("message_envelope", UNSET)
        if given is UNSET:
            from tomodachi.envelope.base import validate_envelope

            given = resolve_envelope(self.service)
            validate_envelope(given, **parser_kwargs)
        envelope: MessageParser | None = given
        where = f"{type(self.service).__name__}.{handler.name}"
        warn_ignored_parser_kwargs(type(self).decorator, where, envelope, parser_kwargs)
        return envelope

    # -- deliveries ---------------------------------------------------------------------------------------

    def _on_delivery(self, subscriber: Subscriber[SubscriptionT]) -> DeliveryCallback:
        pipeline = subscriber.pipeline
        submit = self._runner.submit

        def on_delivery(delivery: Delivery) -> None:
            if not self._accepting:
                # a delivery racing our consumer cancel: hand it straight back (stop awaits these)
                hand_back = asyncio.get_running_loop().create_task(delivery.retry(0))
                self._handing_back.add(hand_back)
                hand_back.add_done_callback(self._handed_back)
                return
            submit(pipeline, delivery)

        return on_delivery

    def _handed_back(self, task: asyncio.Task[None]) -> None:
        self._handing_back.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.logger.error("failed to hand a message back to the broker", exc_info=task.exception())

    async def _finish_in_flight(self, grace_period: float) -> None:
        """Await handlers up to the grace period; cut the rest off and hand their messages back to the bus."""
        if not self._in_flight:
            return
        self.logger.info("awaiting running tasks", tasks=len(self._in_flight))
        deadline = self.clock.monotonic() + grace_period
        while True:
            # again after each wait: deliveries not started yet move to a new drain task when the one that was to
            # run them becomes the task of a handler that waits
            tasks = {task for task in self._runner.tasks().values() if not task.done()}
            if not tasks:
                return
            unfinished = await wait_tasks(tasks, self.clock, deadline - self.clock.monotonic())
            if unfinished:
                break
        self.logger.warning(
            f"{self.bus} handlers did not finish within the grace period; their messages are handed back",
            count=len(unfinished),
        )
        cut_off = [delivery for delivery, task in self._runner.tasks().items() if task in unfinished]
        stuck = await cancel_tasks(unfinished, self.clock)
        self._runner.drop(cut_off)  # those that never started must not start later
        if stuck:
            # swallowed its CancelledError: hand the message back anyway; a later settle is ignored
            self.logger.error(f"{self.bus} handlers did not end after being cancelled; moving on", count=len(stuck))
        for delivery in cut_off:
            if delivery.settled:
                continue
            try:
                # available again now, not only when the bus would redeliver it by itself
                await delivery.retry(0)
            except Exception:
                self.logger.exception(f"failed to hand an in-flight {self.bus} message back")


@functools.cache  # reading package metadata costs more than starting a service in a test
def package_version(package: str) -> str:
    """The installed version of ``package`` (``""`` when it is not installed), as the execution context reports it."""
    from importlib import metadata

    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return ""
