"""The in-memory AWS's state and the records of its console view: queues, topics, subscriptions, messages."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from tomodachi.runtime.clock import Clock, TimerHandle

DEDUP_WINDOW_SECONDS = 300.0
DEFAULT_QUEUE_ATTRIBUTES = {
    "VisibilityTimeout": "30",
    "MessageRetentionPeriod": "345600",
    "DelaySeconds": "0",
    "ReceiveMessageWaitTimeSeconds": "0",
}


def _timestamp(clock: Clock) -> str:
    now = clock.now()
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


@dataclass
class PublishedRecord:
    """One ``sns.Publish`` (``queue`` is set instead of ``topic`` for ``sqs.SendMessage``)."""

    topic: str
    message: str
    message_attributes: dict[str, Any]
    message_id: str
    timestamp: float
    group_id: str | None = None
    deduplication_id: str | None = None
    delivered_to: list[str] = field(default_factory=list)
    queue: str | None = None


@dataclass
class MessageRecord:
    """A message sitting on a queue (visible, in flight or delayed), for inspection."""

    queue: str
    message_id: str
    body: str
    message_attributes: dict[str, Any]
    receive_count: int
    group_id: str | None
    deduplication_id: str | None
    in_flight: bool

    @property
    def payload(self) -> str:
        """The SNS ``Message`` for notifications, else the body."""
        try:
            body = json.loads(self.body)
        except ValueError:
            return self.body
        if isinstance(body, dict) and isinstance(body.get("Message"), str):
            return str(body["Message"])
        return self.body


@dataclass(frozen=True)
class SubscriptionRecord:
    arn: str
    topic: str
    queue: str
    filter_policy: Any


@dataclass
class _Message:
    message_id: str
    body: str
    attributes: dict[str, Any]  # botocore form
    group_id: str | None
    deduplication_id: str | None
    sent_at: float
    sequence: int
    receive_count: int = 0
    receipt_handle: str | None = None
    visible: bool = True
    timer: TimerHandle | None = None
    visible_at: float = 0.0  # epoch seconds on the clock at which a hidden message shows again
    marker: bool = False  # a drain marker: production-only traffic, kept out of every record and view


@dataclass
class _Queue:
    name: str
    url: str
    arn: str
    attributes: dict[str, str]
    messages: list[_Message] = field(default_factory=list)
    dedup: dict[tuple[str, str], tuple[float, str]] = field(default_factory=dict)
    drains: int = 0  # drain markers sent to the queue so far

    @property
    def fifo(self) -> bool:
        return self.attributes.get("FifoQueue") == "true"


@dataclass
class _Topic:
    name: str
    arn: str
    attributes: dict[str, str]
    dedup: dict[str, tuple[float, str]] = field(default_factory=dict)

    @property
    def fifo(self) -> bool:
        return self.attributes.get("FifoTopic") == "true"


@dataclass
class _Subscription:
    arn: str
    topic_arn: str
    queue_arn: str
    attributes: dict[str, str]


def deliverable(queue: _Queue, limit: int) -> list[_Message]:
    """Up to ``limit`` messages of ``queue`` a receive may take now, in order (FIFO: one group at a time, a group
    blocked while one of its messages is in flight)."""
    picked: list[_Message] = []
    blocked: set[str | None] = set()
    for message in queue.messages:
        if len(picked) >= limit:
            break
        if queue.fifo:
            # a group is blocked while one of its messages is in flight; order within a group is kept
            if message.group_id in blocked:
                continue
            if not message.visible:
                blocked.add(message.group_id)
                continue
            if picked and picked[-1].group_id != message.group_id:
                blocked.add(message.group_id)
                continue
        elif not message.visible:
            continue
        picked.append(message)
    return picked
