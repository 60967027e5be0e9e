"""The ``@aws_sns_sqs`` handlers of one service: each queue, topic and subscription declared in ``setup()``,
consumed in ``start()``; every delivery runs through the shared message pipeline."""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from tomodachi.messaging.broker import Broker, Delivery
from tomodachi.messaging.pipeline import BusAdapter, ErrorPolicy, Unwrapped, resolve_error_policy
from tomodachi.messaging.sns_sqs import attributes as attribute_codec
from tomodachi.messaging.sns_sqs import naming
from tomodachi.messaging.sns_sqs.api import aws_sns_sqs
from tomodachi.messaging.sns_sqs.brokers import get_broker
from tomodachi.messaging.sns_sqs.consumer import DRAIN_MESSAGE_PAYLOAD
from tomodachi.messaging.sns_sqs.descriptors import SnsPublication, SnsSqsSubscription, SqsPublication
from tomodachi.messaging.sns_sqs.exceptions import INTERNAL_SERVICE_ERRORS
from tomodachi.messaging.sns_sqs.setup import DeclaredQueue
from tomodachi.messaging.subscribers import Subscriber, Subscribers, package_version
from tomodachi.messaging.unset import UNSET
from tomodachi.runtime.transport import BoundHandler, TransportContext

if TYPE_CHECKING:
    from tomodachi.envelope.base import MessageParser
    from tomodachi.messaging.sns_sqs.broker import SnsSqsBroker
    from tomodachi.options import Options

# what every SNS+SQS broker is (over aiobotocore or the in-memory AWS): declare answers the declared queue
SnsSqsBrokerProtocol = Broker[SnsSqsSubscription, SnsPublication | SqsPublication, DeclaredQueue]

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


def _accepts_message_attributes(envelope: object) -> bool:
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
) -> Callable[[Delivery], Unwrapped | None]:
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


def build_subscription(handler: BoundHandler, service: object, options: Options) -> SnsSqsSubscription:
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
class SnsSqsSubscriber(Subscriber[SnsSqsSubscription]):
    """A subscriber with the check of which topics its queue's notifications may name."""

    topic_check: TopicCheck


def _queue_of(subscription: SnsSqsSubscription) -> str:
    return naming.queue_name_from_arn(subscription.queue_arn) if subscription.queue_arn else subscription.queue_name


def _share_queues(subscribers: list[SnsSqsSubscriber]) -> None:
    """Tell each subscriber about the service's other subscribers on its queue: set-up keeps their queue-policy
    statements (rather than each declare removing the others'), and their topics are believed on it."""
    by_queue: dict[str, list[SnsSqsSubscriber]] = {}
    for subscriber in subscribers:
        by_queue.setdefault(_queue_of(subscriber.subscription), []).append(subscriber)
    for subscriber in subscribers:
        sub = subscriber.subscription
        others = [s.subscription for s in by_queue[_queue_of(sub)] if s is not subscriber]
        peers = tuple((o.topic, o.queue_policy_source_arn) for o in others)
        subscriber.subscription = replace(sub, queue_peers=peers)
        if sub.topic:
            subscriber.topic_check.topics = (sub.topic, *(o.topic for o in others if o.topic))


class SnsSqsSubscribers(Subscribers[SnsSqsSubscription, SnsPublication | SqsPublication, DeclaredQueue]):
    """Serves every ``@aws_sns_sqs`` handler of one service instance (a runtime ``Transport``)."""

    bus = "aws_sns_sqs"
    logger_name = "tomodachi.awssnssqs"
    decorator = aws_sns_sqs
    injected_values = INJECTED_VALUES

    def __init__(self, context: TransportContext) -> None:
        super().__init__(context)
        self.options = context.options

    def open_broker(self) -> SnsSqsBrokerProtocol:
        broker: SnsSqsBrokerProtocol = get_broker(self.environment, self.options)
        return broker

    def subscriber(self, handler: BoundHandler, envelope: MessageParser | None) -> SnsSqsSubscriber:
        args = handler.spec.args
        subscription = build_subscription(handler, self.service, self.options)
        topic_check = TopicCheck((subscription.topic,))
        pass_attributes = envelope is not None and (
            bool(args.get("parser_kwargs")) or _accepts_message_attributes(envelope)
        )
        adapter = BusAdapter(
            bus="aws_sns_sqs",
            handler_type="awssnssqs",
            positional=("topic",),
            internal_errors=INTERNAL_SERVICE_ERRORS,
            pre_middleware_attribute="_awssnssqs_message_pre_middleware",
            unwrap=make_unwrap(self.options.aws_sns_sqs.topic_prefix or "", pass_attributes, topic_check=topic_check),
        )
        pipeline = self.build_pipeline(handler, adapter, envelope, _error_policy(self.service, args))
        return SnsSqsSubscriber(handler, subscription, pipeline, topic_check=topic_check)

    def before_declare(self) -> None:
        _share_queues(self._sns_sqs_subscribers())

    def declared(self, subscriber: Subscriber[SnsSqsSubscription], result: DeclaredQueue) -> None:
        if isinstance(subscriber, SnsSqsSubscriber) and subscriber.subscription.topic and result.arn:
            # set-up refused a queue ARN that does not say its partition, region and account
            subscriber.topic_check.arn_prefix = naming.sns_arn_prefix(result.arn)

    def facts(self) -> Mapping[str, object]:
        return {
            "aiobotocore_version": package_version("aiobotocore"),
            "aiohttp_version": package_version("aiohttp"),
            "botocore_version": package_version("botocore"),
        }

    def _sns_sqs_subscribers(self) -> list[SnsSqsSubscriber]:
        return [subscriber for subscriber in self.subscribers if isinstance(subscriber, SnsSqsSubscriber)]


def _error_policy(service: object, args: Mapping[str, object]) -> ErrorPolicy:
    """The service's policy; where the decorator set a visibility timeout, a failed message stays invisible at
    least that long (what the user asked SQS for), whatever the back-off says."""
    max_receive_count = args.get("max_receive_count")  # an int or None: the decorator checked it
    policy = resolve_error_policy(service, max_receive_count if isinstance(max_receive_count, int) else None)
    visibility_timeout = args.get("visibility_timeout", UNSET)
    if isinstance(visibility_timeout, int) and not isinstance(visibility_timeout, bool):
        policy = replace(policy, min_delay=float(visibility_timeout))
    return policy


if TYPE_CHECKING:

    def _is_a_broker(broker: SnsSqsBroker) -> SnsSqsBrokerProtocol:
        return broker  # mypy: the one SNS+SQS broker class (over either client) is a Broker


def create_transport(context: TransportContext) -> SnsSqsSubscribers:
    return SnsSqsSubscribers(context)
