"""The aws_sns_sqs transport: declares each handler's queue/topic/subscription, consumes, and runs every
delivery through the shared message pipeline."""

from __future__ import annotations

import asyncio
import functools
import inspect
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from importlib import metadata
from typing import Any

from tomodachi.handler_check import SignatureFinding, message_findings, report_findings
from tomodachi.messaging.broker import Consumer, Delivery, remember_environment
from tomodachi.messaging.pipeline import (
    ErrorPolicy,
    MessagePipeline,
    MessagingProfile,
    Unwrapped,
    resolve_error_policy,
)
from tomodachi.messaging.shutdown import cancel_tasks, wait_tasks
from tomodachi.messaging.sns_sqs import attributes as attribute_codec
from tomodachi.messaging.sns_sqs import naming
from tomodachi.messaging.sns_sqs.api import MESSAGE_ENVELOPE_DEFAULT, aws_sns_sqs, service_envelope
from tomodachi.messaging.sns_sqs.brokers import get_broker
from tomodachi.messaging.sns_sqs.descriptors import UNSET, SnsSqsSubscription
from tomodachi.messaging.sns_sqs.exceptions import INTERNAL_SERVICE_ERRORS
from tomodachi.runtime.transport import BoundHandler, TransportContext
from tomodachi.settings_check import warn_ignored_parser_kwargs

logger = logging.getLogger("tomodachi.awssnssqs")

DRAIN_MESSAGE_PAYLOAD = "__TOMODACHI_DRAIN__cdab4416-1727-4603-87c9-0ff8dddf1f22__"
# the transport values ``make_unwrap`` hands to handlers by name (next to the envelope's and ``message``)
INJECTED_VALUES: tuple[str, ...] = (
    "topic",
    "receipt_handle",
    "queue_url",
    "message_attributes",
    "approximate_receive_count",
    "sns_message_id",
    "sqs_message_id",
    "message_type",
    "raw_message_body",
    "message_timestamp",
    "message_deduplication_id",
    "message_group_id",
)


def _accepts_message_attributes(envelope: Any) -> bool:
    parse = getattr(envelope, "parse_message", None)
    try:
        params = inspect.signature(parse).parameters.values() if parse is not None else ()
    except (TypeError, ValueError):
        return False
    return any(p.kind is p.VAR_KEYWORD or p.name == "message_attributes" for p in params)


class TopicCheck:
    """Which ``TopicArn`` a notification on a handler's queue is believed to name. A body naming any other was
    written by whoever may send to the queue, not by SNS. Believed: a topic the service subscribes the queue to
    (``topics``: exact names or wildcards, the handler's own first, then those of the service's other handlers
    on the same queue), in the queue's own partition, region and account (``arn_prefix``, known once the queue
    is declared). A handler without a topic of its own (its queue subscribed outside tomodachi) believes any."""

    def __init__(self, topics: tuple[str | None, ...] = (), arn_prefix: str | None = None) -> None:
        self.topics = topics
        self.arn_prefix = arn_prefix

    def __call__(self, topic_arn: str) -> bool:
        if not self.topics or not self.topics[0]:
            return True
        if self.arn_prefix is not None and not topic_arn.startswith(self.arn_prefix):
            return False
        name = naming.topic_from_arn(topic_arn)
        return any(_topic_matches(topic, name) for topic in self.topics if topic)


def _topic_matches(subscribed_topic: str, name: str) -> bool:
    if naming.is_wildcard(subscribed_topic):
        return naming.wildcard_matcher(subscribed_topic).fullmatch(name) is not None
    return name == subscribed_topic


def make_unwrap(
    topic_prefix: str,
    pass_attributes: bool,
    subscribed_topic: str | None = None,
    *,
    topic_check: Callable[[str], bool] | None = None,
) -> Any:
    """Delivery → payload + injectable values. SNS notifications carry the payload in ``Message``; any other
    body (raw delivery, foreign producers) is itself the payload rather than being dropped.

    ``subscribed_topic`` (the SNS topic name or wildcard the handler subscribed to) or ``topic_check`` (a
    :class:`TopicCheck`) say which ``TopicArn`` is believed; another was not written by SNS, and sets neither
    the handler's ``topic`` nor its ``sns_message_id``."""
    believes = topic_check or TopicCheck((subscribed_topic,))

    def unwrap(delivery: Delivery) -> Unwrapped | None:
        raw = delivery.text()
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        if isinstance(body, dict) and "Message" in body:
            payload = body.get("Message")
            message_type = str(body.get("Type") or "")
            topic_arn = str(body.get("TopicArn") or "")
            encoded_attributes = delivery.attributes or body.get("MessageAttributes") or {}
            sns_message_id = str(body.get("MessageId") or "") if message_type == "Notification" else ""
            timestamp = body.get("Timestamp")
            if topic_arn and not believes(topic_arn):
                topic_arn, sns_message_id = "", ""
        else:
            payload, message_type, topic_arn, sns_message_id, timestamp = raw, "", "", "", None
            encoded_attributes = delivery.attributes
        if not payload or payload == DRAIN_MESSAGE_PAYLOAD:
            return None
        message_attributes = attribute_codec.decode(encoded_attributes)
        meta = delivery.metadata
        values = {
            "topic": naming.handler_topic(topic_arn, topic_prefix),
            "receipt_handle": meta.get("receipt_handle"),
            "queue_url": meta.get("queue_url"),
            "message_attributes": message_attributes,
            "approximate_receive_count": delivery.receive_count,
            "sns_message_id": sns_message_id,
            "sqs_message_id": meta.get("sqs_message_id"),
            "message_type": message_type,
            "raw_message_body": raw,
            "message_timestamp": timestamp,
            "message_deduplication_id": meta.get("message_deduplication_id"),
            "message_group_id": meta.get("message_group_id"),
        }
        parse_kwargs = {"message_attributes": message_attributes} if pass_attributes else {}
        # a "Message" that is not a string (foreign producers) is handed on as JSON, not as a Python repr
        text = payload if isinstance(payload, str) else json.dumps(payload)
        return Unwrapped(payload=text, values=values, parse_kwargs=parse_kwargs)

    return unwrap


def build_subscription(handler: BoundHandler, service: Any, options: Any) -> SnsSqsSubscription:
    """Decorator arguments + service options → the final names and settings for one handler."""
    args = handler.spec.args
    aws = options.aws_sns_sqs
    fifo = bool(args.get("fifo"))
    topic: str | None = args.get("topic")
    queue_name: str | None = args.get("queue_name")
    competing = args.get("competing")
    queue_arn = None
    if queue_name is not None:
        resolved = naming.resolve_queue_name(queue_name, aws.queue_name_prefix, fifo=fifo)
        queue_arn = queue_name if naming.is_queue_arn(queue_name) else None
    else:
        func_name = getattr(handler.func, "__name__", handler.name)
        resolved = naming.queue_name(
            topic, func_name, str(getattr(service, "uuid", "")), competing=competing,
            queue_name_prefix=aws.queue_name_prefix, fifo=fifo,
        )  # fmt: skip
    dead_letter = args.get("dead_letter_queue_name", UNSET)
    if isinstance(dead_letter, str) and not naming.is_queue_arn(dead_letter):
        dead_letter = naming.resolve_queue_name(dead_letter, aws.queue_name_prefix, fifo=fifo)
    sns_topic = naming.sns_topic_name(topic, aws.topic_prefix, fifo=fifo) if topic else None
    policy_override = None
    if sns_topic:
        policy_override = aws.wildcard_queue_policy if naming.is_wildcard(sns_topic) else aws.queue_policy
    return SnsSqsSubscription(
        queue_name=resolved,
        topic=sns_topic,
        queue_arn=queue_arn,
        fifo=fifo,
        filter_policy=args.get("filter_policy", UNSET),
        visibility_timeout=args.get("visibility_timeout", UNSET),
        dead_letter_queue=dead_letter,
        max_receive_count=args.get("max_receive_count"),
        max_number_of_messages=int(args.get("max_number_of_consumed_messages", 10)),
        sqs_kms_master_key_id=aws.sqs_kms_master_key_id,
        sqs_kms_data_key_reuse_period=aws.sqs_kms_data_key_reuse_period,
        sns_kms_master_key_id=aws.sns_kms_master_key_id,
        queue_policy_source_arn=policy_override or None,
    )


@dataclass
class _Handler:
    subscription: SnsSqsSubscription
    pipeline: MessagePipeline
    topic_check: TopicCheck
    consumer: Consumer | None = None


def _queue_of(subscription: SnsSqsSubscription) -> str:
    return naming.queue_name_from_arn(subscription.queue_arn) if subscription.queue_arn else subscription.queue_name


def _share_queues(handlers: list[_Handler]) -> None:
    """Tell each handler about the service's other handlers on its queue: set-up keeps their queue-policy
    statements (rather than each declare removing the others'), and their topics are believed on it."""
    by_queue: dict[str, list[_Handler]] = {}
    for handler in handlers:
        by_queue.setdefault(_queue_of(handler.subscription), []).append(handler)
    for handler in handlers:
        sub = handler.subscription
        others = [h.subscription for h in by_queue[_queue_of(sub)] if h is not handler]
        peers = tuple((o.topic, o.queue_policy_source_arn) for o in others)
        handler.subscription = replace(sub, queue_peers=peers)
        if sub.topic:
            handler.topic_check.topics = (sub.topic, *(o.topic for o in others if o.topic))


class SnsSqsTransport:
    def __init__(self, context: TransportContext) -> None:
        self.context = context
        self.environment = context.environment
        self.broker: Any = None
        self.handlers: list[_Handler] = []
        self.tasks: set[asyncio.Task[None]] = set()
        self.deliveries: dict[asyncio.Task[None], Delivery] = {}
        self.stopping = False

    async def setup(self) -> None:
        service, options = self.context.service, self.context.options
        remember_environment(service, self.environment)
        self.broker = get_broker(self.environment, options)
        acquire = getattr(self.broker, "acquire", None)
        if acquire is not None:  # brokers owning clients close them when their last transport stops
            acquire()
        _record_execution_context()
        findings: list[SignatureFinding] = []
        for bound in self.context.handlers:
            args = bound.spec.args
            envelope = args.get("message_envelope", MESSAGE_ENVELOPE_DEFAULT)
            parser_kwargs = dict(args.get("parser_kwargs") or {})
            if envelope is MESSAGE_ENVELOPE_DEFAULT:
                envelope = service_envelope(service)
                if envelope is not None:
                    from tomodachi.envelope.base import validate_envelope

                    validate_envelope(envelope, **parser_kwargs)
            warn_ignored_parser_kwargs(aws_sns_sqs, f"{type(service).__name__}.{bound.name}", envelope, parser_kwargs)
            subscription = build_subscription(bound, service, options)
            topic_check = TopicCheck((subscription.topic,))
            pass_attributes = envelope is not None and (bool(parser_kwargs) or _accepts_message_attributes(envelope))
            profile = MessagingProfile(
                transport="aws_sns_sqs",
                handler_type="awssnssqs",
                positional=("topic",),
                internal_errors=INTERNAL_SERVICE_ERRORS,
                pre_middleware_attribute="_awssnssqs_message_pre_middleware",
                unwrap=make_unwrap(options.aws_sns_sqs.topic_prefix or "", pass_attributes, topic_check=topic_check),
            )
            pipeline = MessagePipeline(
                service=service,
                handler=bound.func,
                handler_name=bound.name,
                profile=profile,
                environment=self.environment,
                envelope=envelope,
                parser_kwargs=parser_kwargs,
                callback_kwargs=args.get("callback_kwargs"),
                error_policy=_error_policy(service, args),
            )
            findings += message_findings(
                bound,
                service,
                envelope=envelope,
                values=INJECTED_VALUES,
                pre_middleware_attribute=profile.pre_middleware_attribute,
            )
            self.handlers.append(_Handler(subscription, pipeline, topic_check))
        # every handler is checked before the first queue or topic is declared
        report_findings(self.context, findings)
        _share_queues(self.handlers)
        for handler in self.handlers:
            declared = await self.broker.declare(handler.subscription)
            queue_arn = getattr(declared, "arn", None)
            if handler.subscription.topic and queue_arn:
                # set-up refused a queue ARN that does not say its partition, region and account
                handler.topic_check.arn_prefix = naming.sns_arn_prefix(queue_arn)

    async def start(self) -> None:
        for handler in self.handlers:
            handler.consumer = await self.broker.consume(handler.subscription, self._spawner(handler.pipeline))

    def _spawner(self, pipeline: MessagePipeline) -> Any:
        def on_delivery(delivery: Delivery) -> None:
            task = asyncio.get_running_loop().create_task(pipeline.handle(delivery))
            self.tasks.add(task)
            self.deliveries[task] = delivery
            task.add_done_callback(self._finished)

        return on_delivery

    def _finished(self, task: asyncio.Task[None]) -> None:
        self.tasks.discard(task)
        self.deliveries.pop(task, None)
        # the pipeline raises only when settling failed (delete / visibility change): say so, don't lose it
        if not task.cancelled() and task.exception() is not None:
            logger.error("message pipeline failed", exc_info=task.exception())

    def in_flight(self) -> list[Delivery]:
        """The deliveries being handled right now."""
        return list(self.deliveries.values())

    async def stop(self, grace_period: float) -> None:
        """Cancel consumers, await in-flight handlers (up to ``grace_period``), release the broker; a failing
        step is logged and the next one still runs, so handlers are awaited and the broker released."""
        if self.stopping:
            return
        self.stopping = True
        for handler in self.handlers:
            consumer, handler.consumer = handler.consumer, None
            if consumer is not None:
                try:
                    await consumer.cancel()
                except Exception:
                    logger.exception("failed to cancel sqs consumer", extra={"queue": handler.subscription.queue_name})
        try:
            await self._await_in_flight(grace_period)
        except Exception:
            logger.exception("failed to await the in-flight sqs handlers")
        release = getattr(self.broker, "release", None)
        if release is not None:
            try:
                await release()
            except Exception:
                logger.exception("failed to release the sns+sqs broker")

    async def _await_in_flight(self, grace_period: float) -> None:
        """Await handlers up to the grace period; cut the rest off and make their messages visible again."""
        if not self.tasks:
            return
        logger.info("awaiting running tasks", extra={"tasks": len(self.tasks)})
        clock = self.environment.clock
        unfinished = await wait_tasks(self.tasks, clock, grace_period)
        if not unfinished:
            return
        logger.warning("in-flight sqs handlers did not finish within the grace period; messages handed back")
        cut_off = [self.deliveries[task] for task in unfinished if task in self.deliveries]
        stuck = await cancel_tasks(unfinished, clock)
        if stuck:
            # swallowed its CancelledError: hand the message back anyway; a later settle is ignored
            logger.error("sqs handlers did not end after being cancelled; moving on", extra={"count": len(stuck)})
        for delivery in cut_off:
            if delivery.settled:
                continue
            # visible again now, not only after a (possibly long) visibility timeout
            try:
                await delivery.retry(0)
            except Exception:
                logger.exception("failed to hand an in-flight sqs message back")


@functools.cache  # reading package metadata costs more than starting a service in a test
def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return ""


def _record_execution_context() -> None:
    from tomodachi.runtime import context

    values = context.get_execution_context()
    if values.get("aws_sns_sqs_enabled"):
        return
    context.set_execution_context(
        {
            "aws_sns_sqs_enabled": True,
            "aws_sns_sqs_current_tasks": values.get("aws_sns_sqs_current_tasks", 0),
            "aws_sns_sqs_total_tasks": values.get("aws_sns_sqs_total_tasks", 0),
            "aiobotocore_version": _version("aiobotocore"),
            "aiohttp_version": _version("aiohttp"),
            "botocore_version": _version("botocore"),
        }
    )


def _error_policy(service: Any, args: Mapping[str, Any]) -> ErrorPolicy:
    """The service's policy; where the decorator set a visibility timeout, a failed message stays invisible at
    least that long (what the user asked SQS for), whatever the back-off says."""
    policy = resolve_error_policy(service, args.get("max_receive_count"))
    visibility_timeout = args.get("visibility_timeout", UNSET)
    if isinstance(visibility_timeout, int) and not isinstance(visibility_timeout, bool):
        policy = replace(policy, min_delay=float(visibility_timeout))
    return policy


def create_transport(context: TransportContext) -> SnsSqsTransport:
    return SnsSqsTransport(context)
