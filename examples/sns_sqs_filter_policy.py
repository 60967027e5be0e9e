"""Example: two subscribers to one SNS topic, each seeing only the notifications its filter policy selects.

Run: tomodachi run examples/sns_sqs_filter_policy.py   (needs AWS or an emulator configured in Options)
Test: tests/examples/test_examples_sns_sqs.py runs it on the in-memory SNS+SQS.
"""

from __future__ import annotations

from typing import Any

import tomodachi
from tomodachi.envelope import JsonBase

OPTIONS = tomodachi.Options(aws_sns_sqs={"region_name": "eu-west-1", "topic_prefix": "example-"})


class Alerts(tomodachi.Service):
    name = "example-alerts"
    message_envelope = JsonBase
    options = OPTIONS

    async def raise_alert(self, text: str, severity: int, channel: str) -> None:
        # filter policies match message attributes, never the message body
        await tomodachi.sns_publish(
            self, {"text": text}, "alert.raised", message_attributes={"severity": severity, "channel": channel}
        )


class Pager(tomodachi.Service):
    """Wakes someone up: only severe alerts, from any channel but "test"."""

    name = "example-pager"
    message_envelope = JsonBase
    options = OPTIONS

    def __init__(self) -> None:
        self.pages: list[str] = []

    # each subscriber needs its own queue to see every matching message (competing queues share one per topic)
    @tomodachi.aws_sns_sqs(
        "alert.raised",
        queue_name="example-pager-alerts",
        filter_policy={"severity": [{"numeric": [">=", 4]}], "channel": [{"anything-but": ["test"]}]},
    )
    async def page(self, data: dict[str, Any], message_attributes: dict[str, Any]) -> None:
        self.pages.append(f"sev{message_attributes['severity']}: {data['text']}")


class Dashboard(tomodachi.Service):
    """Shows everything from the ops and db channels, whatever the severity."""

    name = "example-dashboard"
    message_envelope = JsonBase
    options = OPTIONS

    def __init__(self) -> None:
        self.lines: list[str] = []

    @tomodachi.aws_sns_sqs(
        "alert.raised", queue_name="example-dashboard-alerts", filter_policy={"channel": ["ops", "db"]}
    )
    async def show(self, data: dict[str, Any], message_attributes: dict[str, Any]) -> None:
        self.lines.append(f"[{message_attributes['channel']}] {data['text']}")
