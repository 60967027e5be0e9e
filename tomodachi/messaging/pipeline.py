"""The one message pipeline every bus uses: delivery → envelope parse → message middleware → handler → settle.

Failure policy (default ``"retry"``, deliberately different from upstream): a message whose handler raises is
retried with exponential back-off (delays on the environment's Clock, via ``Delivery.retry(delay)``) and after
``max_attempts`` receives (``max_receive_count`` where the decorator gives one, else 3) it is dead-lettered.
A service opts into upstream behaviour (ordinary errors drop the message) with the class attribute
``message_error_policy = "upstream"``. ``*InternalServiceError`` exceptions always cause a retry. A failing
handler never stops the consumer; every handler exception is logged and passed to ``environment.report_error``.
The publishes a handler makes are confirmed by their bus before its delivery is acked (a publish scope per
delivery, see :mod:`tomodachi.messaging.publish_scope`); one that is not confirmed fails the handler.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable, Coroutine, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple

from tomodachi.handlers import handler_parameters
from tomodachi.logging import framework_logger
from tomodachi.messaging.broker import Delivery, current_delivery
from tomodachi.messaging.call_plan import NO_VALUES, CallPlan
from tomodachi.messaging.error_policy import ErrorPolicy, resolve_error_policy
from tomodachi.messaging.publish_scope import PublishScope, UnconfirmedPublishError, discard_scope, open_scope
from tomodachi.middleware import execute_middlewares
from tomodachi.runtime.clock import handler_clock
from tomodachi.runtime.observe import MessageLostEvent, call_handler, report_lost

if TYPE_CHECKING:
    from tomodachi.envelope.base import MessageParser
    from tomodachi.runtime.environment import Environment

DEDUP_CACHE_SIZE = 100_000

# the policy lives in its own module; it is part of this one's interface
__all__ = ["NO_PARSE_KWARGS", "BusAdapter", "ErrorPolicy", "MessagePipeline", "Unwrapped", "resolve_error_policy"]


NO_PARSE_KWARGS: Mapping[str, object] = MappingProxyType({})


class Unwrapped(NamedTuple):
    """A delivery as the pipeline sees it: the envelope payload and the transport's injectable values (a named
    tuple: one is made per message, and a tuple is the cheapest immutable record)."""

    payload: str | bytes
    values: Mapping[str, object]  # e.g. routing_key / exchange_name / properties, or topic / receipt_handle / …
    parse_kwargs: Mapping[str, object] = NO_PARSE_KWARGS  # extra kwargs for envelope.parse_message


@dataclass(frozen=True)
class BusAdapter:
    """What differs between buses inside the pipeline (and nothing else): how one bus's deliveries are read.

    ``unwrap`` turns a delivery into an :class:`Unwrapped`, returns ``None`` for messages to acknowledge
    silently (e.g. SQS drain markers), or raises for bodies it cannot read (treated as a parse failure).
    ``positional`` names the values after ``message`` given positionally to middleware (``routing_key`` /
    ``topic``), before ``middleware_context``.
    """

    bus: str  # "amqp" / "aws_sns_sqs": the task counter's name (execution-context key prefix)
    handler_type: str  # "amqp" / "awssnssqs": logger name part and log field
    positional: tuple[str, ...]
    internal_errors: tuple[type[BaseException], ...]
    pre_middleware_attribute: str
    unwrap: Callable[[Delivery], Unwrapped | None]

    @property
    def logger_name(self) -> str:
        return f"tomodachi.{self.handler_type}.handler"


class MessagePipeline:
    """Runs deliveries for one handler of one service instance; see the module docstring for the policy."""

    def __init__(
        self,
        *,
        service: object,
        handler: Callable[..., object],
        handler_name: str,
        adapter: BusAdapter,
        environment: Environment,
        envelope: MessageParser | None = None,
        parser_kwargs: Mapping[str, object] | None = None,
        callback_kwargs: Sequence[str] | None = None,
        error_policy: ErrorPolicy | None = None,
    ) -> None:
        self.service = service
        self.handler = handler
        self.handler_name = handler_name
        self.adapter = adapter
        self.environment = environment
        self.envelope = envelope
        self.parser_kwargs = dict(parser_kwargs or {})
        self.callback_kwargs = tuple(callback_kwargs) if callback_kwargs else None
        self.error_policy = error_policy or resolve_error_policy(service)
        self.logger = framework_logger(adapter.logger_name)
        self._seen: OrderedDict[str, None] = OrderedDict()
        # read once: every delivery names its handler, and the service is configured before its pipelines exist
        self.service_name = str(getattr(service, "name", "service"))
        self.where = f"{self.service_name}.{handler_name}"
        self._tasks = environment.execution.counter(adapter.bus)
        self._plan: CallPlan | None = None  # how deliveries map onto the handler's parameters (made once)

    async def handle(self, delivery: Delivery) -> None:
        """Process one delivery to completion and settle it. Raises only on cancellation or when settling fails."""
        self._tasks.started()
        if delivery.handler_task is None:  # the transport's runner sets the task it runs the delivery in
            delivery.handler_task = asyncio.current_task()
        delivery.handler = self.where
        # the publishes the handler makes: their confirms are awaited before the delivery is acked
        scope = open_scope()
        current = current_delivery.set(delivery)
        clock = handler_clock.set(self.environment.clock)
        try:  # the whole of it in one coroutine: one per message is enough
            try:
                unwrapped = self.adapter.unwrap(delivery)
            except Exception as exc:
                await self._parse_failed(delivery, exc, message_uuid=None, incompatible=False)
                return
            if unwrapped is None:
                await delivery.ack()
                return

            message: object
            message_uuid: object = None
            if self.envelope is not None:
                payload = unwrapped.payload
                try:
                    text = payload if isinstance(payload, str) else payload.decode("utf-8")
                    if self.parser_kwargs or unwrapped.parse_kwargs:
                        parsed = await self.envelope.parse_message(text, **self.parser_kwargs, **unwrapped.parse_kwargs)
                    else:  # the usual case: no keyword arguments to merge
                        parsed = await self.envelope.parse_message(text)
                    message, message_uuid, _timestamp = parsed
                except Exception as exc:
                    await self._parse_failed(delivery, exc, message_uuid=None, incompatible=False)
                    return
                if message is False:
                    await self._parse_failed(delivery, None, message_uuid=message_uuid, incompatible=True)
                    return
            else:
                message = _raw_body(unwrapped.payload)

            if message_uuid and str(message_uuid) in self._seen:
                self.logger.info(
                    "duplicate message skipped",
                    handler=self.handler_name,
                    message_uuid=message_uuid,
                    delivery_id=delivery.delivery_id,
                )
                await delivery.ack()
                return

            values: dict[str, object] = {"message": message, "message_uuid": message_uuid, **unwrapped.values}
            envelope_values = message if self.envelope is not None and isinstance(message, dict) else NO_VALUES
            service = self.service
            pre = getattr(service, self.adapter.pre_middleware_attribute, None)
            user = getattr(service, "message_middleware", None)
            if pre or user:
                await self._through_middlewares(
                    delivery, scope, message, message_uuid, values, envelope_values, pre, user
                )
                return
            # no middleware: the handler is called directly (a chain's closures would be a reference cycle per message)
            try:
                await self._call_handler(message, envelope_values, values, delivery.injected_fault)
            except Exception as exc:
                self._report(exc, delivery, message_uuid)
                await self._handler_failed(delivery, exc)
                return
            await self._ack_once_confirmed(delivery, scope, message_uuid)
        except Exception as exc:
            if delivery.settled:
                raise  # settling itself failed: the transport logs it and the bus redelivers
            # a fault of the pipeline (e.g. a misconfigured message_middleware): park the message, don't strand it
            self._report(exc, delivery, None)
            await self._give_up(delivery, f"message pipeline failed: {type(exc).__name__}: {exc}", kept=True)
        finally:
            current_delivery.reset(current)
            handler_clock.reset(clock)
            discard_scope(scope)  # a no-op once the delivery was acked
            self._tasks.ended()
            delivery.handler_task = None  # the task holds the delivery: no reference cycle once it is done

    async def _through_middlewares(
        self,
        delivery: Delivery,
        scope: PublishScope,
        message: object,
        message_uuid: object,
        values: dict[str, object],
        envelope_values: Mapping[str, object],
        pre: Iterable[Callable[..., object]] | None,
        user: Iterable[Callable[..., object]] | None,
    ) -> None:
        handled = False

        async def innermost(**current: object) -> object:
            nonlocal handled
            result = await self._call_handler(message, envelope_values, current, delivery.injected_fault)
            handled = True
            return result

        middlewares = [*_as_list(pre), *_as_list(user)]
        try:
            positional = (message, *(values.get(name) for name in self.adapter.positional), {})
            await execute_middlewares(innermost, middlewares, self.service, positional, values)
        except Exception as exc:
            self._report(exc, delivery, message_uuid)
            if not handled:
                await self._handler_failed(delivery, exc)
            else:
                # the handler itself completed; only a middleware failed on the way out — don't run it again
                await self._ack_once_confirmed(delivery, scope, message_uuid)
            return
        await self._ack_once_confirmed(delivery, scope, message_uuid)

    async def _ack_once_confirmed(self, delivery: Delivery, scope: PublishScope, message_uuid: object) -> None:
        """Ack once the handler's publishes are confirmed (see :meth:`_confirms_arrived`)."""
        if scope.close() and not await self._confirms_arrived(delivery, scope, message_uuid):
            return
        if message_uuid:
            self._remember(str(message_uuid))  # only now: a retried delivery must not be skipped as a duplicate
        await delivery.ack()

    async def _confirms_arrived(self, delivery: Delivery, scope: PublishScope, message_uuid: object) -> bool:
        """Wait for the confirms of the handler's publishes (the scope is closed); one that failed fails the
        handler (its policy then retries or dead-letters the delivery, which is not acked: nothing is lost)."""
        try:
            await scope.wait()
        except UnconfirmedPublishError as exc:
            self._report(exc, delivery, message_uuid)
            await self._handler_failed(delivery, exc)
            return False
        return True

    def _call_handler(
        self,
        message: object,
        envelope_values: Mapping[str, object],
        current: Mapping[str, object],
        fault: BaseException | None = None,
    ) -> Coroutine[Any, Any, object]:
        """The handler's call, to await (a coroutine less per message than awaiting it here)."""
        plan = self._plan
        if plan is None:
            plan = self._plan = CallPlan.of(
                handler_parameters(self.handler), self.envelope is None, self.callback_kwargs
            )
        args, kwargs = plan.arguments(message, envelope_values, current, self.callback_kwargs)
        environment = self.environment
        return call_handler(  # by position: one call per message
            self.handler,
            args,
            kwargs,
            environment.observers,
            environment.clock,
            self.service_name,
            self.handler_name,
            self.adapter.bus,
            fault,
        )

    async def _handler_failed(self, delivery: Delivery, exc: Exception) -> None:
        policy = self.error_policy
        internal = isinstance(exc, self.adapter.internal_errors)
        attempt = max(1, delivery.receive_count)
        if policy.mode == "upstream" and not internal:
            self.logger.warning(
                "message dropped after handler error (message_error_policy='upstream')",
                handler=self.handler_name,
                delivery_id=delivery.delivery_id,
            )
            reason = f"dropped after handler error (message_error_policy='upstream'): {type(exc).__name__}: {exc}"
            await self._give_up(delivery, reason, kept=False)
            return
        if policy.mode == "retry" and attempt >= policy.max_attempts:
            reason = f"handler {self.handler_name} failed {attempt} time(s): {type(exc).__name__}: {exc}"
            self.logger.warning(
                "message dead-lettered", handler=self.handler_name, delivery_id=delivery.delivery_id, attempts=attempt
            )
            await self._give_up(delivery, reason, kept=True)
            return
        delay = policy.delay_for(attempt)
        self.logger.info(
            "message will be retried",
            handler=self.handler_name,
            delivery_id=delivery.delivery_id,
            attempt=attempt,
            delay=delay,
        )
        await delivery.retry(delay)

    async def _parse_failed(
        self, delivery: Delivery, exc: BaseException | None, *, message_uuid: object, incompatible: bool
    ) -> None:
        what = "incompatible message envelope" if incompatible else "unable to parse message"
        event = f"{what}: {type(exc).__name__}: {exc}" if exc is not None else what
        self.logger.warning(
            event, handler=self.handler_name, delivery_id=delivery.delivery_id, message_uuid=message_uuid
        )
        detail = f": {type(exc).__name__}: {exc}" if exc is not None else ""
        if self.error_policy.mode == "upstream" and not (incompatible and message_uuid):
            await self._give_up(delivery, f"dropped: {what}{detail}", kept=False)
            return
        # never hot-loop on a message that can't ever parse, never lose it: park it in the dead-letter queue
        await self._give_up(delivery, f"{what}{detail}", kept=True)

    async def _give_up(self, delivery: Delivery, reason: str, *, kept: bool) -> None:
        """Dead-letter (``kept``) or drop the delivery, and tell the environment's observers either way."""
        if kept:
            await delivery.dead_letter(reason)
        else:
            await delivery.ack()
        observers = self.environment.observers
        if observers:
            event = MessageLostEvent(
                self.adapter.bus,
                self.service_name,
                self.handler_name,
                delivery,
                reason,
                kept,
                self.environment.clock.now(),
            )
            report_lost(observers, event)

    def _report(self, exc: BaseException, delivery: Delivery, message_uuid: object) -> None:
        self.logger.error(
            f"uncaught exception: {exc}",
            exc_info=exc,
            handler=self.handler_name,
            type=f"tomodachi.{self.adapter.handler_type}",
            delivery_id=delivery.delivery_id,
            message_uuid=message_uuid,
        )
        try:
            self.environment.report_error(exc, self.where)
        except Exception:  # a broken reporter must not take the consumer down
            self.logger.exception("error reporter failed")

    def _remember(self, key: str) -> None:
        self._seen[key] = None
        if len(self._seen) > DEDUP_CACHE_SIZE:
            self._seen.popitem(last=False)


def _raw_body(payload: str | bytes) -> str | bytes:
    if isinstance(payload, str):
        return payload
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        return payload  # binary bodies are handed over as bytes rather than mangled


def _as_list(value: Iterable[Callable[..., object]] | None) -> list[Callable[..., object]]:
    if not value:
        return []
    return list(value)
