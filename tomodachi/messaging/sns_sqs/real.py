"""The SNS+SQS broker on AWS: :class:`SnsSqsBroker` over the aiobotocore client, built from a service's options."""

from __future__ import annotations

from typing import Any

from tomodachi.messaging.sns_sqs.aws_client import AwsSettings, AwsSnsSqsClient
from tomodachi.messaging.sns_sqs.broker import SnsSqsBroker
from tomodachi.runtime.clock import Clock, RealClock


def create_real_broker(options: Any, clock: Clock | None = None) -> SnsSqsBroker:
    """The broker for a service's ``Options.AWSSNSSQS`` / ``Options.AWSEndpointURLs``: one set of SNS/SQS/STS
    clients, retrying transient failures on ``clock``."""
    clock = clock or RealClock()
    return SnsSqsBroker(AwsSnsSqsClient(AwsSettings.from_options(options), clock), clock)
