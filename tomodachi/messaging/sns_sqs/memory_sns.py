"""The SNS half of the in-memory AWS: topics, subscriptions with filter policies, and Publish fanning a message
out to the subscribed queues that the queue policy lets it reach."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any

from tomodachi.messaging.sns_sqs import attributes as attribute_codec
from tomodachi.messaging.sns_sqs import iam, limits, naming
from tomodachi.messaging.sns_sqs.client import INVALID_PARAMETER, NOT_FOUND, AwsApiError
from tomodachi.messaging.sns_sqs.filter_policy import FilterPolicy
from tomodachi.messaging.sns_sqs.memory_sqs import MemorySqs
from tomodachi.messaging.sns_sqs.memory_state import (
    DEDUP_WINDOW_SECONDS,
    PublishedRecord,
    SubscriptionRecord,
    _Queue,
    _Subscription,
    _timestamp,
    _Topic,
)
from tomodachi.runtime.clock import Clock

# what GetTopicAttributes reports but SetTopicAttributes refuses (FIFO-ness is fixed when the topic is created)
READ_ONLY_TOPIC_ATTRIBUTES = frozenset(
    {"FifoTopic", "TopicArn", "Owner", "SubscriptionsConfirmed", "SubscriptionsPending", "SubscriptionsDeleted"}
)


class MemorySns(MemorySqs):
    """SNS over the queues of :class:`~tomodachi.messaging.sns_sqs.memory_sqs.MemorySqs`."""

    def __init__(
        self,
        clock: Clock | None = None,
        *,
        region: str = "us-east-1",
        account_id: str = "000000000000",
        history: int | None = None,
    ) -> None:
        super().__init__(clock, region=region, account_id=account_id, history=history)
        self._topics: dict[str, _Topic] = {}
        self._subscriptions: dict[str, _Subscription] = {}

    def topics(self) -> list[str]:
        """Topic names (console view)."""
        return list(self._topics)

    def subscriptions(self, topic: str | None = None) -> list[SubscriptionRecord]:
        records = []
        for s in self._subscriptions.values():
            topic_name = naming.topic_from_arn(s.topic_arn)
            if topic is not None and topic_name != topic:
                continue
            policy = s.attributes.get("FilterPolicy")
            records.append(
                SubscriptionRecord(
                    s.arn, topic_name, naming.queue_name_from_arn(s.queue_arn), json.loads(policy) if policy else None
                )
            )
        return records

    async def find_topic(self, topic_name: str) -> str | None:
        self.calls["find_topic"] += 1
        topic = self._topics.get(topic_name)
        return topic.arn if topic else None

    async def create_topic(self, topic_name: str, attributes: Mapping[str, str]) -> str:
        self.calls["create_topic"] += 1
        naming.validate_topic_name(topic_name)
        fifo = attributes.get("FifoTopic") == "true"
        if fifo != topic_name.endswith(naming.FIFO_SUFFIX):
            raise AwsApiError(INVALID_PARAMETER, "Fifo Topic names must end with .fifo and Standard Topic cannot")
        existing = self._topics.get(topic_name)
        if existing is not None:
            if any(existing.attributes.get(k) != v for k, v in attributes.items()):
                raise AwsApiError(INVALID_PARAMETER, "Topic already exists with different attributes")
            return existing.arn
        arn = f"arn:aws:sns:{self.region}:{self.account_id}:{topic_name}"
        self._topics[topic_name] = _Topic(topic_name, arn, dict(attributes))
        return arn

    async def get_topic_attributes(self, topic_arn: str) -> dict[str, str]:
        self.calls["get_topic_attributes"] += 1
        topic = self._topic_by_arn(topic_arn)
        return {**topic.attributes, "TopicArn": topic.arn}

    async def set_topic_attributes(self, topic_arn: str, name: str, value: str) -> None:
        self.calls["set_topic_attributes"] += 1
        topic = self._topic_by_arn(topic_arn)
        if name in READ_ONLY_TOPIC_ATTRIBUTES:
            raise AwsApiError(INVALID_PARAMETER, f"Invalid parameter: AttributeName ({name} cannot be changed)")
        if name == "KmsMasterKeyId" and value == "":
            topic.attributes.pop(name, None)  # an empty key id turns server-side encryption off
        else:
            topic.attributes[name] = value

    async def delete_topic(self, topic_arn: str) -> None:
        """SNS DeleteTopic: the topic and its subscriptions are gone (its ARN answers ``NotFound``)."""
        self.calls["delete_topic"] += 1
        topic = self._topic_by_arn(topic_arn)
        del self._topics[topic.name]
        for arn in [arn for arn, s in self._subscriptions.items() if s.topic_arn == topic_arn]:
            del self._subscriptions[arn]

    async def list_topics(self) -> list[str]:
        self.calls["list_topics"] += 1
        return [topic.arn for topic in self._topics.values()]

    async def list_subscriptions_by_topic(self, topic_arn: str) -> list[dict[str, str]]:
        self.calls["list_subscriptions_by_topic"] += 1
        self._topic_by_arn(topic_arn)
        return [
            {"SubscriptionArn": s.arn, "TopicArn": s.topic_arn, "Protocol": "sqs", "Endpoint": s.queue_arn}
            for s in self._subscriptions.values()
            if s.topic_arn == topic_arn
        ]

    async def subscribe(self, topic_arn: str, queue_arn: str, attributes: Mapping[str, str]) -> str:
        self.calls["subscribe"] += 1
        topic = self._topic_by_arn(topic_arn)
        queue = self._queue_by_arn(queue_arn)
        if queue.fifo and not topic.fifo:
            raise AwsApiError(INVALID_PARAMETER, "a standard topic cannot deliver to a FIFO queue")
        if "FilterPolicy" in attributes and attributes["FilterPolicy"] not in ("", "{}"):
            FilterPolicy(attributes["FilterPolicy"])  # invalid policies are refused, as SNS does
        for existing in self._subscriptions.values():
            if existing.topic_arn == topic_arn and existing.queue_arn == queue_arn:
                return existing.arn
        arn = f"{topic_arn}:{uuid.uuid4()}"
        self._subscriptions[arn] = _Subscription(arn, topic_arn, queue_arn, dict(attributes))
        return arn

    async def get_subscription_attributes(self, subscription_arn: str) -> dict[str, str]:
        self.calls["get_subscription_attributes"] += 1
        return dict(self._subscription(subscription_arn).attributes)

    async def set_subscription_attributes(self, subscription_arn: str, name: str, value: str) -> None:
        self.calls["set_subscription_attributes"] += 1
        subscription = self._subscription(subscription_arn)
        if name == "FilterPolicy" and value not in ("", "{}"):
            FilterPolicy(value)
        if name == "FilterPolicy" and value in ("", "{}"):
            subscription.attributes.pop(name, None)
        else:
            subscription.attributes[name] = value

    async def sns_publish(
        self,
        topic_arn: str,
        message: str,
        *,
        message_attributes: Mapping[str, Any] | None = None,
        group_id: str | None = None,
        deduplication_id: str | None = None,
    ) -> str:
        self.calls["sns_publish"] += 1
        self._publish_fault()
        attributes = dict(message_attributes or {})
        limits.check_sns_message(message, attributes)  # refused: nothing published, nothing delivered
        topic = self._topic_by_arn(topic_arn)
        if topic.fifo and not group_id:
            raise AwsApiError(INVALID_PARAMETER, "The MessageGroupId parameter is required for FIFO topics")
        if topic.fifo and not deduplication_id:
            raise AwsApiError(INVALID_PARAMETER, "a FIFO topic without content-based deduplication needs an id")
        if not topic.fifo and group_id:
            raise AwsApiError(INVALID_PARAMETER, "MessageGroupId is only valid for FIFO topics")
        now = self.clock.monotonic()
        record = PublishedRecord(
            topic=topic.name,
            message=message,
            message_attributes=attribute_codec.decode(attributes),
            message_id=str(uuid.uuid4()),
            timestamp=self.clock.time(),
            group_id=group_id,
            deduplication_id=deduplication_id,
        )
        self._log(record)
        if topic.fifo and deduplication_id:
            topic.dedup = {k: v for k, v in topic.dedup.items() if v[0] > now}
            if deduplication_id in topic.dedup:
                record.message_id = topic.dedup[deduplication_id][1]
                return record.message_id  # duplicate within 5 minutes: accepted, not delivered again
            topic.dedup[deduplication_id] = (now + DEDUP_WINDOW_SECONDS, record.message_id)
        for subscription in list(self._subscriptions.values()):
            if subscription.topic_arn != topic.arn:
                continue
            policy = subscription.attributes.get("FilterPolicy")
            if policy and policy != "{}" and not FilterPolicy(policy).matches(attributes):
                continue
            queue = self._queue_by_arn_or_none(subscription.queue_arn)
            if queue is None or not self._policy_allows(queue, topic.arn):
                continue  # SNS drops deliveries the queue policy refuses
            body = self._notification(topic, record, attributes, subscription)
            # not checked against the queue's limits: SQS takes every notification of a message SNS accepted
            self._enqueue(queue, body, {}, group_id, deduplication_id, None)
            record.delivered_to.append(queue.name)
        return record.message_id

    def _topic_by_arn(self, arn: str) -> _Topic:
        topic = self._topics.get(naming.topic_from_arn(arn))
        if topic is None or topic.arn != arn:
            raise AwsApiError(NOT_FOUND, f"Topic does not exist: {arn}")
        return topic

    def _subscription(self, arn: str) -> _Subscription:
        subscription = self._subscriptions.get(arn)
        if subscription is None:
            raise AwsApiError(NOT_FOUND, f"Subscription does not exist: {arn}")
        return subscription

    @staticmethod
    def _policy_allows(queue: _Queue, source_arn: str) -> bool:
        return iam.sns_may_send(queue.attributes.get("Policy"), queue.arn, source_arn)

    def _notification(
        self, topic: _Topic, record: PublishedRecord, attributes: Mapping[str, Any], subscription: _Subscription
    ) -> str:
        body: dict[str, Any] = {"Type": "Notification", "MessageId": record.message_id}
        if topic.fifo:
            body["SequenceNumber"] = f"{next(self._sequence):020d}"
        body.update(
            {
                "TopicArn": topic.arn,
                "Message": record.message,
                "Timestamp": _timestamp(self.clock),
                "SignatureVersion": "1",
                "Signature": "RkFLRQ==",
                "SigningCertURL": f"https://sns.{self.region}.amazonaws.com/SimpleNotificationService-fake.pem",
                "UnsubscribeURL": f"https://sns.{self.region}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn="
                f"{subscription.arn}",
            }
        )
        if attributes:
            body["MessageAttributes"] = attribute_codec.to_notification_form(attributes)
        return json.dumps(body)
