"""The aiobotocore-backed SNS+SQS broker — not built yet (a later issue); tests use the memory broker."""

from __future__ import annotations

from typing import Any, NoReturn


def create_real_broker(options: Any, clock: Any = None) -> NoReturn:
    raise NotImplementedError(
        "The real AWS SNS+SQS broker (aiobotocore) is not implemented yet. Run services with an in-memory "
        "broker: the pytest fixture 'fake_sns_sqs', or environment.broker_factories['aws_sns_sqs'] = "
        "lambda key: MemorySnsSqsBroker(clock=...)."
    )
