"""Which SNS+SQS broker a service talks to: one per Environment and connection settings."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tomodachi.messaging.sns_sqs.broker import SnsSqsBroker
    from tomodachi.runtime.environment import Environment

BUS = "aws_sns_sqs"


def broker_key(options: Any) -> tuple[Any, ...]:
    """Connection settings that decide whether two services can share one broker instance."""
    aws = getattr(options, "aws_sns_sqs", None)
    urls = getattr(options, "aws_endpoint_urls", None)
    return (
        getattr(aws, "region_name", None),
        getattr(aws, "aws_access_key_id", None),
        getattr(urls, "sns", None),
        getattr(urls, "sqs", None),
        getattr(urls, "sts", None),
    )


def get_broker(environment: Environment, options: Any) -> SnsSqsBroker:
    """The environment's broker for ``options``' connection settings: its factory's (the in-memory one in tests),
    else the broker on AWS, built on first use."""

    def build_default() -> SnsSqsBroker:
        from tomodachi.messaging.sns_sqs.real import create_real_broker

        return create_real_broker(options, environment.clock)

    return environment.broker(BUS, broker_key(options), build_default)
