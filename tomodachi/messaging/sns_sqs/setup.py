"""SNS+SQS resource set-up and publish/send, written once against :class:`SnsSqsClient`."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tomodachi.logging import framework_logger
from tomodachi.messaging.sns_sqs import naming, queue_policy
from tomodachi.messaging.sns_sqs.client import SnsSqsClient
from tomodachi.messaging.sns_sqs.descriptors import UNSET, SnsPublication, SnsSqsSubscription, SqsPublication
from tomodachi.messaging.sns_sqs.exceptions import AWSSNSSQSException, QueueDoesNotExistError
from tomodachi.messaging.sns_sqs.filter_policy import validate as validate_filter_policy

logger = framework_logger("tomodachi.awssnssqs")

DEAD_LETTER_RETENTION_SECONDS = "1209600"  # 14 days, the SQS maximum
FIFO_QUEUE_ATTRIBUTES = {
    "FifoQueue": "true",
    "ContentBasedDeduplication": "false",
    "DeduplicationScope": "messageGroup",
    "FifoThroughputLimit": "perMessageGroupId",
}
FIFO_TOPIC_ATTRIBUTES = {"FifoTopic": "true", "ContentBasedDeduplication": "false"}


@dataclass(frozen=True)
class DeclaredQueue:
    url: str
    arn: str
    topic_arns: tuple[str, ...]


def _kms_value(value: Any, option: str) -> str | None:
    """Option value → attribute value: None untouched, "" / False disable encryption, str = key id."""
    if value is None:
        return None
    if value is False or value == "":
        return ""
    if isinstance(value, str):
        return value
    raise ValueError(f"Bad value for aws_sns_sqs option {option}: {value!r}")


async def ensure_queue(
    client: SnsSqsClient, name: str, *, fifo: bool, attributes: Mapping[str, str] | None = None
) -> str:
    """The queue's URL; a missing queue is created (FIFO attributes and ``attributes``)."""
    url = await client.get_queue_url(name)
    if url is None:
        url = await client.create_queue(name, {**(FIFO_QUEUE_ATTRIBUTES if fifo else {}), **(attributes or {})})
        logger.info("created sqs queue", queue_name=name)
    return url


async def _existing_queue_by_arn(client: SnsSqsClient, arn: str, what: str) -> str:
    url = await client.get_queue_url(naming.queue_name_from_arn(arn))
    if url is None:
        raise AWSSNSSQSException(f"AWS SQS {what} with specific ARN ({arn}) does not exist")
    return url


async def ensure_topic(
    client: SnsSqsClient,
    name: str,
    *,
    fifo: bool,
    attributes: Mapping[str, Any] | None = None,
    overwrite: bool = False,
    kms_master_key_id: Any = None,
) -> str:
    """Look the topic up, else create it (FIFO / KMS attributes). On an existing topic, ``overwrite`` updates the
    attributes that differ; a KMS key id (``""`` / ``False``: encryption off) is applied whatever ``overwrite``
    says, as it is to an existing queue, while ``None`` leaves the topic's encryption as it is."""
    wanted: dict[str, str] = {
        k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in (attributes or {}).items()
    }
    if fifo:
        wanted.update(FIFO_TOPIC_ATTRIBUTES)
    kms = _kms_value(kms_master_key_id, "sns_kms_master_key_id")
    if kms is not None and "KmsMasterKeyId" not in wanted:
        wanted["KmsMasterKeyId"] = kms
    arn = await client.find_topic(name)
    if arn is None:
        # an empty key id only means "no encryption", which a new topic has anyway
        return await client.create_topic(name, {k: v for k, v in wanted.items() if (k, v) != ("KmsMasterKeyId", "")})
    updates = dict(wanted) if overwrite else {}
    if kms is not None:
        updates["KmsMasterKeyId"] = wanted["KmsMasterKeyId"]
    if updates:
        current = await client.get_topic_attributes(arn)
        for key, value in updates.items():
            if current.get(key, "") != value:
                await client.set_topic_attributes(arn, key, value)
    return arn


def _arn_prefix(queue_arn: str) -> str:
    try:
        return naming.sns_arn_prefix(queue_arn)
    except ValueError as exc:
        raise AWSSNSSQSException(str(exc)) from None


async def _topics_for(client: SnsSqsClient, sub: SnsSqsSubscription) -> list[str]:
    """The topic ARNs to subscribe the queue to (a wildcard: the matching topics that exist now)."""
    if not sub.topic:
        return []
    if naming.is_wildcard(sub.topic):
        matcher = naming.wildcard_matcher(sub.topic)
        return [arn for arn in await client.list_topics() if matcher.fullmatch(naming.topic_from_arn(arn))]
    return [await ensure_topic(client, sub.topic, fifo=sub.fifo, kms_master_key_id=sub.sns_kms_master_key_id)]


def _policy_sources(sub: SnsSqsSubscription, prefix: str | None, topic_arns: list[str]) -> tuple[list[str], set[str]]:
    """(sources this handler's statements allow, sources the policy keeps: these and those of the service's
    other handlers on the queue); ``prefix``: the queue's ``arn:<partition>:sns:<region>:<account>:``."""
    if prefix is None:
        return [], set()
    own = queue_policy.source_for(sub.topic, sub.queue_policy_source_arn, prefix)
    if sub.topic and not sub.queue_policy_source_arn and not naming.is_wildcard(sub.topic):
        own = topic_arns[0]  # the ARN SNS gave the topic: what it names as the source of its deliveries
    wanted = [own] if own else []
    handlers = [(sub.topic, sub.queue_policy_source_arn), *sub.queue_peers]
    keep = {source for topic, override in handlers if (source := queue_policy.source_for(topic, override, prefix))}
    return wanted, keep | set(wanted)


async def declare(client: SnsSqsClient, sub: SnsSqsSubscription) -> DeclaredQueue:
    """Create/update queue, dead-letter queue, topic(s), queue attributes and subscription(s) for one handler.

    Improvements over upstream, all wire-compatible: queue policies gain a statement instead of being replaced,
    and lose the statements tomodachi wrote for topics no handler on the queue subscribes to any more
    (:mod:`.queue_policy`); an existing topic gets the ``sns_kms_master_key_id`` setting too; visibility
    timeout, redrive policy and KMS settings also apply to topic-less queues; a filter policy is set, changed or
    removed on an existing subscription.
    """
    # 1. the queue
    if sub.queue_arn:
        url = await _existing_queue_by_arn(client, sub.queue_arn, "queue")
    else:
        url = await ensure_queue(client, sub.queue_name, fifo=sub.fifo)
    current = await client.get_queue_attributes(url)
    queue_arn = current["QueueArn"]
    is_fifo = current.get("FifoQueue", "false") == "true"
    if is_fifo != sub.fifo:
        raise AWSSNSSQSException(
            f"Queue ({sub.queue_name}) is {'a FIFO' if is_fifo else 'a standard'} queue but the handler was "
            f"declared with fifo={sub.fifo}"
        )
    # the topics' partition, region and account are the queue's: an ARN that does not say them is an error
    # (before anything else is created), never a guess that would let topics of any account send
    has_topics = bool(sub.topic) or any(topic for topic, _ in sub.queue_peers)
    arn_prefix = _arn_prefix(queue_arn) if has_topics else None
    wanted: dict[str, str] = {}

    # 2. dead-letter queue / redrive policy
    if sub.dead_letter_queue is not UNSET:
        if sub.dead_letter_queue is None:
            wanted["RedrivePolicy"] = ""
        else:
            dlq: str = sub.dead_letter_queue
            if naming.is_queue_arn(dlq):
                dlq_url = await _existing_queue_by_arn(client, dlq, "dead-letter queue")
            else:
                dlq_url = await ensure_queue(
                    client, dlq, fifo=sub.fifo, attributes={"MessageRetentionPeriod": DEAD_LETTER_RETENTION_SECONDS}
                )
            dlq_arn = (await client.get_queue_attributes(dlq_url))["QueueArn"]
            wanted["RedrivePolicy"] = json.dumps(
                {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": int(sub.max_receive_count or 1)}
            )

    # 3. topic(s), and what the queue policy allows: the statements we wrote for topics no handler on the
    # queue subscribes to any more go, so a topic dropped between deploys can no longer send to the queue
    topic_arns = await _topics_for(client, sub)
    wanted_sources, kept_sources = _policy_sources(sub, arn_prefix, topic_arns)

    # 4. queue attributes: only what differs
    policy = queue_policy.updated(current.get("Policy"), queue_arn, wanted_sources, kept_sources)
    if policy is not None:
        wanted["Policy"] = policy
    if sub.visibility_timeout is not UNSET:
        wanted["VisibilityTimeout"] = str(int(sub.visibility_timeout))
    kms = _kms_value(sub.sqs_kms_master_key_id, "sqs_kms_master_key_id")
    if kms is not None:
        wanted["KmsMasterKeyId"] = kms
        if kms and sub.sqs_kms_data_key_reuse_period is not None:
            wanted["KmsDataKeyReusePeriodSeconds"] = str(int(sub.sqs_kms_data_key_reuse_period))
    changed = {k: v for k, v in wanted.items() if current.get(k, "") != v}
    if changed:
        await client.set_queue_attributes(url, changed)

    # 5. subscriptions (RawMessageDelivery stays false, as upstream)
    await _subscribe(client, topic_arns, queue_arn, sub.filter_policy)
    return DeclaredQueue(url=url, arn=queue_arn, topic_arns=tuple(topic_arns))


def _filter_policy_json(filter_policy: Any) -> str | None:
    if filter_policy is UNSET:
        return None
    if filter_policy is None:
        return "{}"
    parsed = json.loads(filter_policy) if isinstance(filter_policy, str) else filter_policy
    validate_filter_policy(parsed)
    return json.dumps(parsed)


async def _subscribe(client: SnsSqsClient, topic_arns: list[str], queue_arn: str, filter_policy: Any) -> None:
    policy_json = _filter_policy_json(filter_policy)
    for topic_arn in topic_arns:
        existing = [s for s in await client.list_subscriptions_by_topic(topic_arn) if s.get("Endpoint") == queue_arn]
        if not existing:
            attributes = {"FilterPolicy": policy_json} if policy_json not in (None, "{}") else {}
            await client.subscribe(topic_arn, queue_arn, attributes)
            continue
        if policy_json is None:
            continue
        for subscription in existing:
            arn = subscription["SubscriptionArn"]
            current = (await client.get_subscription_attributes(arn)).get("FilterPolicy") or "{}"
            if json.loads(current) != json.loads(policy_json):
                await client.set_subscription_attributes(arn, "FilterPolicy", policy_json)


# ---- publishing ------------------------------------------------------------------------------------------


async def publish(client: SnsSqsClient, publication: SnsPublication, topic_arns: dict[str, str]) -> str:
    """``sns.Publish``; the topic is looked up / created once and cached in ``topic_arns`` (by final name)."""
    fifo = publication.topic.endswith(naming.FIFO_SUFFIX)
    if fifo and not publication.group_id:
        raise ValueError(f"Publishing to the FIFO topic {publication.topic} needs a group_id")
    arn = topic_arns.get(publication.topic)
    if arn is None or publication.overwrite_topic_attributes:
        arn = await ensure_topic(
            client,
            publication.topic,
            fifo=fifo,
            attributes=publication.topic_attributes,
            overwrite=publication.overwrite_topic_attributes,
            kms_master_key_id=publication.sns_kms_master_key_id,
        )
        topic_arns[publication.topic] = arn
    return await client.sns_publish(
        arn,
        publication.message,
        message_attributes=publication.message_attributes,
        group_id=publication.group_id,
        deduplication_id=(publication.deduplication_id or str(uuid.uuid4())) if fifo else None,
    )


async def send(client: SnsSqsClient, publication: SqsPublication) -> str:
    """``sqs.SendMessage`` to an existing queue (name, ARN or URL); a missing queue → QueueDoesNotExistError."""
    target = publication.queue
    if target.startswith(("https://", "http://")):
        name = naming.queue_name_from_url(target)
    elif naming.is_queue_arn(target):
        name = naming.queue_name_from_arn(target)
    else:
        name = target
    url = await client.get_queue_url(name)
    if url is None:
        raise QueueDoesNotExistError(f"The specified queue does not exist: {name}")
    fifo = name.endswith(naming.FIFO_SUFFIX)
    return await client.send_message(
        url,
        publication.body,
        message_attributes=publication.message_attributes,
        group_id=publication.group_id,
        deduplication_id=(publication.deduplication_id or str(uuid.uuid4())) if fifo else None,
        delay_seconds=publication.delay_seconds,
    )
