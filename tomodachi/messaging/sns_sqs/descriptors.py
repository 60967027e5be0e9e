"""What an SNS+SQS subscription and an SNS publish / SQS send ask of a broker (transport-specific descriptors)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tomodachi.messaging.unset import UNSET


@dataclass(frozen=True)
class SnsSqsSubscription:
    """One handler's queue and what feeds it.

    Names are final: prefixed, encoded, with ``.fifo`` where needed. ``queue_arn`` is set when the decorator
    named an existing queue by ARN (it must exist). ``topic`` is ``None`` for a topic-less queue; a
    ``topic`` containing ``*``/``#`` is a wildcard matched against the topics existing at start-up.
    ``filter_policy`` / ``visibility_timeout`` / ``dead_letter_queue`` are :data:`UNSET` to leave the current
    setting alone; ``filter_policy=None`` and ``dead_letter_queue=None`` remove the setting.
    """

    queue_name: str
    topic: str | None = None
    queue_arn: str | None = None
    fifo: bool = False
    filter_policy: Any = UNSET  # dict | None | UNSET
    visibility_timeout: Any = UNSET  # int | UNSET
    dead_letter_queue: Any = UNSET  # name or ARN | None | UNSET
    max_receive_count: int | None = None
    max_number_of_messages: int = 10
    sqs_kms_master_key_id: Any = None  # str ("" disables) | None (untouched)
    sqs_kms_data_key_reuse_period: int | None = None
    sns_kms_master_key_id: Any = None
    queue_policy_source_arn: str | None = None  # options.queue_policy / wildcard_queue_policy override
    # (topic, queue_policy_source_arn) of the service's other handlers on the same queue: the queue policy keeps
    # the statements they need, and notifications of their topics are believed on this handler's queue too
    queue_peers: tuple[tuple[str | None, str | None], ...] = ()


@dataclass(frozen=True)
class SnsPublication:
    """``sns.Publish`` to ``topic`` (final SNS topic name), creating the topic if it does not exist."""

    topic: str
    message: str
    message_attributes: Mapping[str, Any] = field(default_factory=dict)  # botocore form
    group_id: str | None = None
    deduplication_id: str | None = None
    topic_attributes: Mapping[str, Any] | None = None
    overwrite_topic_attributes: bool = False
    sns_kms_master_key_id: Any = None


@dataclass(frozen=True)
class SqsPublication:
    """``sqs.SendMessage`` to an existing queue, named by ``queue_name`` (final name), ARN or URL."""

    queue: str
    body: str
    message_attributes: Mapping[str, Any] = field(default_factory=dict)  # botocore form
    group_id: str | None = None
    deduplication_id: str | None = None
    delay_seconds: int | None = None


__all__ = ["UNSET", "SnsPublication", "SnsSqsSubscription", "SqsPublication"]
