"""The AWS-shaped operations the SNS+SQS broker is written against, implemented by aiobotocore and the in-memory AWS."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any, Protocol

from tomodachi.messaging.sns_sqs.exceptions import AWSSNSSQSException

NON_EXISTENT_QUEUE = "AWS.SimpleQueueService.NonExistentQueue"
NOT_FOUND = "NotFound"
INVALID_PARAMETER = "InvalidParameter"
INVALID_PARAMETER_VALUE = "InvalidParameterValue"  # SQS: a parameter's value is refused
PARAMETER_VALUE_INVALID = "ParameterValueInvalid"  # SNS: likewise (botocore's InvalidParameterValueException)
MISSING_PARAMETER = "MissingParameter"
# what SNS/SQS answer a request they refuse for what it asks: sent again, it is refused again
REFUSAL_CODES = frozenset(
    {
        INVALID_PARAMETER,
        INVALID_PARAMETER_VALUE,
        PARAMETER_VALUE_INVALID,
        MISSING_PARAMETER,
        "InvalidMessageContents",
        "AWS.SimpleQueueService.InvalidMessageContents",
    }
)


class AwsApiError(AWSSNSSQSException):
    """An error answer from SNS/SQS (``code`` as AWS spells it)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message

    @property
    def refusal(self) -> bool:
        """Whether AWS refused the request itself (an invalid parameter, a message too long): not a failure that
        sending it again may get past."""
        return self.code in REFUSAL_CODES


class SnsSqsClient(Protocol):
    """SQS/SNS operations in botocore's vocabulary (attribute values are strings, as on the wire).

    Received messages are dicts shaped like a ``ReceiveMessage`` response entry: ``MessageId``,
    ``ReceiptHandle``, ``Body``, ``Attributes`` and ``MessageAttributes``. ``calls`` counts the requests made,
    by operation; ``close()`` releases connections (a later call opens them again).
    """

    @property
    def calls(self) -> Counter[str]: ...

    async def close(self) -> None: ...

    # --- SQS ---
    async def get_queue_url(self, queue_name: str) -> str | None: ...

    async def create_queue(self, queue_name: str, attributes: Mapping[str, str]) -> str: ...

    async def get_queue_attributes(self, queue_url: str) -> dict[str, str]: ...

    async def set_queue_attributes(self, queue_url: str, attributes: Mapping[str, str]) -> None: ...

    async def receive_messages(
        self, queue_url: str, max_number_of_messages: int, wait_time_seconds: float
    ) -> list[dict[str, Any]]: ...

    async def delete_message(self, queue_url: str, receipt_handle: str) -> None: ...

    async def change_message_visibility(self, queue_url: str, receipt_handle: str, visibility_timeout: int) -> None: ...

    async def send_message(
        self,
        queue_url: str,
        body: str,
        *,
        message_attributes: Mapping[str, Any] | None = None,
        group_id: str | None = None,
        deduplication_id: str | None = None,
        delay_seconds: int | None = None,
        retry: bool = True,
    ) -> str:
        """``retry=False``: a transient failure raises at once rather than being retried."""
        ...

    # --- SNS ---
    async def find_topic(self, topic_name: str) -> str | None: ...

    async def create_topic(self, topic_name: str, attributes: Mapping[str, str]) -> str: ...

    async def get_topic_attributes(self, topic_arn: str) -> dict[str, str]: ...

    async def set_topic_attributes(self, topic_arn: str, name: str, value: str) -> None: ...

    async def list_topics(self) -> list[str]: ...

    async def list_subscriptions_by_topic(self, topic_arn: str) -> list[dict[str, str]]: ...

    async def subscribe(self, topic_arn: str, queue_arn: str, attributes: Mapping[str, str]) -> str: ...

    async def get_subscription_attributes(self, subscription_arn: str) -> dict[str, str]: ...

    async def set_subscription_attributes(self, subscription_arn: str, name: str, value: str) -> None: ...

    async def sns_publish(
        self,
        topic_arn: str,
        message: str,
        *,
        message_attributes: Mapping[str, Any] | None = None,
        group_id: str | None = None,
        deduplication_id: str | None = None,
    ) -> str: ...
