"""The :class:`SnsSqsClient` operations on aiobotocore: one SNS, SQS and STS client per broker, errors mapped to
:class:`AwsApiError` / :class:`AWSSNSSQSConnectionException`, transient failures retried with back-off on the Clock.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections import Counter
from collections.abc import Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any

from tomodachi.logging import framework_logger
from tomodachi.messaging.sns_sqs.client import NON_EXISTENT_QUEUE, NOT_FOUND, AwsApiError
from tomodachi.messaging.sns_sqs.exceptions import AWSSNSSQSConnectionException
from tomodachi.runtime.clock import Clock

logger = framework_logger("tomodachi.awssnssqs")

CONNECT_TIMEOUT = 8
READ_TIMEOUT = 35  # > WaitTimeSeconds (20) of a long poll
MAX_POOL_CONNECTIONS = 50
RETRY_BUDGET_SECONDS = 30.0  # how long a call keeps retrying an unreachable / throttling endpoint
MAX_BACKOFF_SECONDS = 5.0
RECEIVE_ATTRIBUTE_NAMES = ["ApproximateReceiveCount", "MessageDeduplicationId", "MessageGroupId"]

# SQS answers missing queues with either spelling depending on protocol (query vs JSON)
_MISSING_QUEUE_CODES = {NON_EXISTENT_QUEUE, "QueueDoesNotExist", "AWS.SimpleQueueService.QueueDoesNotExist"}
_NOT_FOUND_CODES = {NOT_FOUND, "NotFoundException", "ResourceNotFoundException"}
_CREDENTIAL_CODES = {
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "SignatureDoesNotMatch",
    "InvalidAccessKeyId",
    "InvalidSecurity",
    "IncompleteSignature",
    "ExpiredToken",
    "ExpiredTokenException",
    "MissingAuthenticationToken",
    "AuthFailure",
    "InvalidSignatureException",
}
_TRANSIENT_CODES = {
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottled",
    "RequestThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "SlowDown",
    "ServiceUnavailable",
    "InternalError",
    "InternalFailure",
    "RequestTimeout",
    "RequestTimeoutException",
    "KMSThrottling",
}


@dataclass(frozen=True)
class AwsSettings:
    """Connection settings; ``None`` leaves a value to botocore's default chain (environment, config files)."""

    region_name: str | None = None
    aws_access_key_id: str | None = None
    aws_secret_access_key: str | None = field(default=None, repr=False)  # never in a log line
    sns_endpoint_url: str | None = None
    sqs_endpoint_url: str | None = None
    sts_endpoint_url: str | None = None

    @classmethod
    def from_options(cls, options: Any) -> AwsSettings:
        aws = getattr(options, "aws_sns_sqs", None)
        urls = getattr(options, "aws_endpoint_urls", None)
        sns_url = getattr(urls, "sns", None) or None
        return cls(
            region_name=getattr(aws, "region_name", None) or None,
            aws_access_key_id=getattr(aws, "aws_access_key_id", None) or None,
            aws_secret_access_key=getattr(aws, "aws_secret_access_key", None) or None,
            sns_endpoint_url=sns_url,
            sqs_endpoint_url=getattr(urls, "sqs", None) or None,
            sts_endpoint_url=getattr(urls, "sts", None) or sns_url,
        )

    def endpoint(self, service: str) -> str | None:
        value: str | None = getattr(self, f"{service}_endpoint_url")
        return value

    def describe(self, service: str) -> str:
        region = self.region_name or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "default"
        return f"{service} ({self.endpoint(service) or 'AWS'}, region {region})"


def _error_code(exc: Any) -> tuple[str, str, int]:
    response = getattr(exc, "response", None) or {}
    error = response.get("Error") or {}
    status = int((response.get("ResponseMetadata") or {}).get("HTTPStatusCode") or 0)
    code, message = str(error.get("Code") or ""), str(error.get("Message") or exc)
    if "<Code>" in message:  # an XML error body botocore could not parse (e.g. for a JSON-protocol request)
        found_code = re.search(r"<Code>([^<]*)</Code>", message)
        found_message = re.search(r"<Message>([^<]*)</Message>", message)
        code = found_code.group(1) if found_code else code
        message = found_message.group(1) if found_message else message
    return code, message, status


def _is_connection_error(exc: BaseException) -> bool:
    from botocore.exceptions import ConnectionError as BotoConnectionError
    from botocore.exceptions import HTTPClientError

    try:
        import aiohttp

        aiohttp_errors: tuple[type[BaseException], ...] = (aiohttp.ClientError,)
    except ImportError:  # pragma: no cover
        aiohttp_errors = ()
    return isinstance(exc, (BotoConnectionError, HTTPClientError, asyncio.TimeoutError, OSError, *aiohttp_errors))


class AwsSnsSqsClient:
    """SNS/SQS/STS over aiobotocore implementing :class:`~tomodachi.messaging.sns_sqs.client.SnsSqsClient`.

    Clients are opened on first use and may be closed and reopened (a call after :meth:`close` reconnects).
    ``calls`` counts the requests sent, by operation name. The account id is looked up once (topics are found
    by ARN); queue URLs are cached by the broker (:mod:`.queue_urls`), not here.
    """

    def __init__(self, settings: AwsSettings, clock: Clock, *, retry_budget: float = RETRY_BUDGET_SECONDS) -> None:
        self.settings = settings
        self.clock = clock
        self.retry_budget = retry_budget
        self.calls: Counter[str] = Counter()
        self._clients: dict[str, Any] = {}
        self._stack: AsyncExitStack | None = None
        self._lock = asyncio.Lock()
        self._arn_prefix: str | None = None

    # ---- connection ------------------------------------------------------------------------------------

    async def _client(self, service: str) -> Any:
        client = self._clients.get(service)
        if client is not None:
            return client
        async with self._lock:
            if service not in self._clients:
                self._clients[service] = await self._open(service)
            return self._clients[service]

    async def _open(self, service: str) -> Any:
        from aiobotocore.config import AioConfig
        from aiobotocore.session import get_session
        from botocore.exceptions import BotoCoreError

        if self._stack is None:
            self._stack = AsyncExitStack()
        config = AioConfig(
            connect_timeout=CONNECT_TIMEOUT,
            read_timeout=READ_TIMEOUT,
            max_pool_connections=MAX_POOL_CONNECTIONS,
            retries={"total_max_attempts": 1, "mode": "standard"},  # retries happen here, on the Clock
        )
        kwargs: dict[str, Any] = {"config": config}
        if self.settings.region_name:
            kwargs["region_name"] = self.settings.region_name
        if self.settings.aws_access_key_id:
            kwargs["aws_access_key_id"] = self.settings.aws_access_key_id
        if self.settings.aws_secret_access_key:
            kwargs["aws_secret_access_key"] = self.settings.aws_secret_access_key
        if self.settings.endpoint(service):
            kwargs["endpoint_url"] = self.settings.endpoint(service)
        try:
            return await self._stack.enter_async_context(get_session().create_client(service, **kwargs))
        except BotoCoreError as exc:
            raise AWSSNSSQSConnectionException(
                f"Unable to create the AWS {self.settings.describe(service)} client: {exc}"
            ) from exc

    async def close(self) -> None:
        """Close the HTTP sessions; idempotent. The account id stays known for a later reconnect."""
        async with self._lock:
            stack, self._stack = self._stack, None
            self._clients.clear()
            if stack is not None:
                await stack.aclose()

    # ---- calling ---------------------------------------------------------------------------------------

    async def call(self, service: str, operation: str, *, retry: bool = True, **kwargs: Any) -> dict[str, Any]:
        """One API call; transient failures are retried with back-off for ``retry_budget`` seconds."""
        from botocore.exceptions import ClientError, NoCredentialsError, NoRegionError, PartialCredentialsError

        started = self.clock.monotonic()
        attempt = 0
        while True:
            attempt += 1
            client = await self._client(service)
            self.calls[operation] += 1
            try:
                result: dict[str, Any] = await getattr(client, operation)(**kwargs)
                if attempt > 1:
                    logger.info("aws call succeeded after retrying", operation=operation, attempt=attempt)
                return result
            except ClientError as exc:
                code, message, status = _error_code(exc)
                if code in _CREDENTIAL_CODES or (status in (401, 403) and any(c in message for c in _CREDENTIAL_CODES)):
                    raise AWSSNSSQSConnectionException(
                        f"AWS rejected the credentials for {self.settings.describe(service)}: {code}: {message}"
                    ) from exc
                if code in _MISSING_QUEUE_CODES:
                    raise AwsApiError(NON_EXISTENT_QUEUE, message) from exc
                if code in _NOT_FOUND_CODES:
                    raise AwsApiError(NOT_FOUND, message) from exc
                if not (code in _TRANSIENT_CODES or status >= 500) or not retry:
                    raise AwsApiError(code or f"HTTP{status}", message) from exc
                failure: BaseException = exc
                reason = f"{code or status}: {message}"
            except (NoCredentialsError, PartialCredentialsError, NoRegionError) as exc:
                raise AWSSNSSQSConnectionException(
                    f"No usable AWS credentials/region for {self.settings.describe(service)}: {exc}"
                ) from exc
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not _is_connection_error(exc):
                    raise
                if not retry:
                    raise AWSSNSSQSConnectionException(
                        f"Unable to reach AWS {self.settings.describe(service)}: {exc}"
                    ) from exc
                failure, reason = exc, f"{type(exc).__name__}: {exc}"
            elapsed = self.clock.monotonic() - started
            if elapsed >= self.retry_budget:
                raise AWSSNSSQSConnectionException(
                    f"AWS {self.settings.describe(service)} {operation} failed after {attempt} attempts "
                    f"in {elapsed:.1f}s: {reason}"
                ) from failure
            delay = min(MAX_BACKOFF_SECONDS, 0.25 * 2 ** (attempt - 1), self.retry_budget - elapsed)
            logger.warning(
                "aws call failed - retrying",
                service=service,
                operation=operation,
                reason=reason,
                retry_in_seconds=round(delay, 2),
                attempt=attempt,
                endpoint=self.settings.endpoint(service),
            )
            await self.clock.sleep(delay)

    # ---- SQS -------------------------------------------------------------------------------------------

    async def get_queue_url(self, queue_name: str) -> str | None:
        try:
            response = await self.call("sqs", "get_queue_url", QueueName=queue_name)
        except AwsApiError as exc:
            if exc.code == NON_EXISTENT_QUEUE:
                return None
            raise
        return str(response["QueueUrl"])

    async def create_queue(self, queue_name: str, attributes: Mapping[str, str]) -> str:
        response = await self.call("sqs", "create_queue", QueueName=queue_name, Attributes=dict(attributes))
        return str(response["QueueUrl"])

    async def get_queue_attributes(self, queue_url: str) -> dict[str, str]:
        response = await self.call("sqs", "get_queue_attributes", QueueUrl=queue_url, AttributeNames=["All"])
        return {str(k): str(v) for k, v in (response.get("Attributes") or {}).items()}

    async def set_queue_attributes(self, queue_url: str, attributes: Mapping[str, str]) -> None:
        await self.call("sqs", "set_queue_attributes", QueueUrl=queue_url, Attributes=dict(attributes))

    async def receive_messages(
        self, queue_url: str, max_number_of_messages: int, wait_time_seconds: float
    ) -> list[dict[str, Any]]:
        # not retried here: the receive loop logs, waits and polls again
        response = await self.call(
            "sqs",
            "receive_message",
            retry=False,
            QueueUrl=queue_url,
            MaxNumberOfMessages=max(1, min(10, int(max_number_of_messages))),
            WaitTimeSeconds=int(wait_time_seconds),
            AttributeNames=RECEIVE_ATTRIBUTE_NAMES,
            MessageAttributeNames=["All"],
        )
        return list(response.get("Messages") or [])

    async def delete_message(self, queue_url: str, receipt_handle: str) -> None:
        await self.call("sqs", "delete_message", QueueUrl=queue_url, ReceiptHandle=receipt_handle)

    async def change_message_visibility(self, queue_url: str, receipt_handle: str, visibility_timeout: int) -> None:
        await self.call(
            "sqs",
            "change_message_visibility",
            QueueUrl=queue_url,
            ReceiptHandle=receipt_handle,
            VisibilityTimeout=int(visibility_timeout),
        )

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
        kwargs = _message_kwargs(message_attributes, group_id, deduplication_id)
        kwargs.update(QueueUrl=queue_url, MessageBody=body)
        if delay_seconds is not None:
            kwargs["DelaySeconds"] = int(delay_seconds)
        response = await self.call("sqs", "send_message", retry=retry, **kwargs)
        return str(response["MessageId"])

    # ---- SNS -------------------------------------------------------------------------------------------

    async def _topic_arn_prefix(self) -> str:
        """``arn:<partition>:sns:<region>:<account>:`` from STS (once); topics are then looked up by ARN."""
        if self._arn_prefix is None:
            identity = await self.call("sts", "get_caller_identity")
            partition = str(identity.get("Arn", "arn:aws:")).split(":")[1] or "aws"
            region = (await self._client("sns")).meta.region_name
            self._arn_prefix = f"arn:{partition}:sns:{region}:{identity['Account']}:"
        return self._arn_prefix

    async def find_topic(self, topic_name: str) -> str | None:
        arn = f"{await self._topic_arn_prefix()}{topic_name}"
        try:
            await self.call("sns", "get_topic_attributes", TopicArn=arn)
        except AwsApiError as exc:
            if exc.code == NOT_FOUND:
                return None
            raise
        return arn

    async def create_topic(self, topic_name: str, attributes: Mapping[str, str]) -> str:
        kwargs: dict[str, Any] = {"Name": topic_name}
        if attributes:
            kwargs["Attributes"] = dict(attributes)
        response = await self.call("sns", "create_topic", **kwargs)
        logger.info("created sns topic", topic=topic_name)
        return str(response["TopicArn"])

    async def get_topic_attributes(self, topic_arn: str) -> dict[str, str]:
        response = await self.call("sns", "get_topic_attributes", TopicArn=topic_arn)
        return {str(k): str(v) for k, v in (response.get("Attributes") or {}).items()}

    async def set_topic_attributes(self, topic_arn: str, name: str, value: str) -> None:
        await self.call("sns", "set_topic_attributes", TopicArn=topic_arn, AttributeName=name, AttributeValue=value)

    async def list_topics(self) -> list[str]:
        arns: list[str] = []
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"NextToken": token} if token else {}
            response = await self.call("sns", "list_topics", **kwargs)
            arns.extend(str(t["TopicArn"]) for t in response.get("Topics") or [])
            token = response.get("NextToken")
            if not token:
                return arns

    async def list_subscriptions_by_topic(self, topic_arn: str) -> list[dict[str, str]]:
        found: list[dict[str, str]] = []
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"TopicArn": topic_arn, **({"NextToken": token} if token else {})}
            response = await self.call("sns", "list_subscriptions_by_topic", **kwargs)
            found.extend({str(k): str(v) for k, v in s.items()} for s in response.get("Subscriptions") or [])
            token = response.get("NextToken")
            if not token:
                return found

    async def subscribe(self, topic_arn: str, queue_arn: str, attributes: Mapping[str, str]) -> str:
        kwargs: dict[str, Any] = {
            "TopicArn": topic_arn,
            "Protocol": "sqs",
            "Endpoint": queue_arn,
            "ReturnSubscriptionArn": True,
        }
        if attributes:
            kwargs["Attributes"] = dict(attributes)
        response = await self.call("sns", "subscribe", **kwargs)
        return str(response["SubscriptionArn"])

    async def get_subscription_attributes(self, subscription_arn: str) -> dict[str, str]:
        response = await self.call("sns", "get_subscription_attributes", SubscriptionArn=subscription_arn)
        return {str(k): str(v) for k, v in (response.get("Attributes") or {}).items()}

    async def set_subscription_attributes(self, subscription_arn: str, name: str, value: str) -> None:
        await self.call(
            "sns",
            "set_subscription_attributes",
            SubscriptionArn=subscription_arn,
            AttributeName=name,
            AttributeValue=value,
        )

    async def sns_publish(
        self,
        topic_arn: str,
        message: str,
        *,
        message_attributes: Mapping[str, Any] | None = None,
        group_id: str | None = None,
        deduplication_id: str | None = None,
    ) -> str:
        kwargs = _message_kwargs(message_attributes, group_id, deduplication_id)
        kwargs.update(TopicArn=topic_arn, Message=message)
        response = await self.call("sns", "publish", **kwargs)
        return str(response["MessageId"])


def _message_kwargs(
    message_attributes: Mapping[str, Any] | None, group_id: str | None, deduplication_id: str | None
) -> dict[str, Any]:
    """The optional parameters SendMessage and Publish share, in botocore's spelling."""
    kwargs: dict[str, Any] = {}
    if message_attributes:
        kwargs["MessageAttributes"] = dict(message_attributes)
    if group_id:
        kwargs["MessageGroupId"] = group_id
    if deduplication_id:
        kwargs["MessageDeduplicationId"] = deduplication_id
    return kwargs
