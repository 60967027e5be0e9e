"""The broker's view of an :class:`SnsSqsClient`: queue URLs looked up once, forgotten once SQS says they are gone."""

from __future__ import annotations

from collections import Counter
from collections.abc import Coroutine, Mapping
from typing import Any

from tomodachi.messaging.sns_sqs.client import NON_EXISTENT_QUEUE, AwsApiError, SnsSqsClient


class QueueUrlCache:
    """An :class:`SnsSqsClient` over ``client`` that answers ``get_queue_url`` from a cache (filled by lookups and
    ``create_queue``), so a publish or send costs one request. A ``NonExistentQueue`` answer to any call naming a
    queue URL forgets that URL: the next lookup asks SQS again. Everything else goes straight to ``client``."""

    def __init__(self, client: SnsSqsClient) -> None:
        self.client = client
        self._urls: dict[str, str] = {}  # queue name -> URL

    @property
    def calls(self) -> Counter[str]:
        return self.client.calls

    def forget(self, queue_name: str) -> None:
        self._urls.pop(queue_name, None)

    def _forget_url(self, queue_url: str) -> None:
        for name in [name for name, cached in self._urls.items() if cached == queue_url]:
            del self._urls[name]

    def _gone(self, exc: AwsApiError, queue_url: str) -> None:
        if exc.code == NON_EXISTENT_QUEUE:
            self._forget_url(queue_url)

    async def close(self) -> None:
        await self.client.close()

    # --- SQS ---

    async def get_queue_url(self, queue_name: str) -> str | None:
        cached = self._urls.get(queue_name)
        if cached is not None:
            return cached
        url = await self.client.get_queue_url(queue_name)
        if url is not None:
            self._urls[queue_name] = url
        return url

    async def create_queue(self, queue_name: str, attributes: Mapping[str, str]) -> str:
        url = await self.client.create_queue(queue_name, attributes)
        self._urls[queue_name] = url
        return url

    async def get_queue_attributes(self, queue_url: str) -> dict[str, str]:
        try:
            return await self.client.get_queue_attributes(queue_url)
        except AwsApiError as exc:
            self._gone(exc, queue_url)
            raise

    async def set_queue_attributes(self, queue_url: str, attributes: Mapping[str, str]) -> None:
        try:
            await self.client.set_queue_attributes(queue_url, attributes)
        except AwsApiError as exc:
            self._gone(exc, queue_url)
            raise

    async def receive_messages(
        self, queue_url: str, max_number_of_messages: int, wait_time_seconds: float
    ) -> list[dict[str, Any]]:
        try:
            return await self.client.receive_messages(queue_url, max_number_of_messages, wait_time_seconds)
        except AwsApiError as exc:
            self._gone(exc, queue_url)
            raise

    async def delete_message(self, queue_url: str, receipt_handle: str) -> None:
        try:
            await self.client.delete_message(queue_url, receipt_handle)
        except AwsApiError as exc:
            self._gone(exc, queue_url)
            raise

    async def change_message_visibility(self, queue_url: str, receipt_handle: str, visibility_timeout: int) -> None:
        try:
            await self.client.change_message_visibility(queue_url, receipt_handle, visibility_timeout)
        except AwsApiError as exc:
            self._gone(exc, queue_url)
            raise

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
        try:
            return await self.client.send_message(
                queue_url,
                body,
                message_attributes=message_attributes,
                group_id=group_id,
                deduplication_id=deduplication_id,
                delay_seconds=delay_seconds,
                retry=retry,
            )
        except AwsApiError as exc:
            self._gone(exc, queue_url)
            raise

    # --- SNS: nothing to cache; the client's own coroutines are handed back (no extra frame per publish) ---

    def find_topic(self, topic_name: str) -> Coroutine[Any, Any, str | None]:
        return self.client.find_topic(topic_name)

    def create_topic(self, topic_name: str, attributes: Mapping[str, str]) -> Coroutine[Any, Any, str]:
        return self.client.create_topic(topic_name, attributes)

    def get_topic_attributes(self, topic_arn: str) -> Coroutine[Any, Any, dict[str, str]]:
        return self.client.get_topic_attributes(topic_arn)

    def set_topic_attributes(self, topic_arn: str, name: str, value: str) -> Coroutine[Any, Any, None]:
        return self.client.set_topic_attributes(topic_arn, name, value)

    def list_topics(self) -> Coroutine[Any, Any, list[str]]:
        return self.client.list_topics()

    def list_subscriptions_by_topic(self, topic_arn: str) -> Coroutine[Any, Any, list[dict[str, str]]]:
        return self.client.list_subscriptions_by_topic(topic_arn)

    def subscribe(self, topic_arn: str, queue_arn: str, attributes: Mapping[str, str]) -> Coroutine[Any, Any, str]:
        return self.client.subscribe(topic_arn, queue_arn, attributes)

    def get_subscription_attributes(self, subscription_arn: str) -> Coroutine[Any, Any, dict[str, str]]:
        return self.client.get_subscription_attributes(subscription_arn)

    def set_subscription_attributes(self, subscription_arn: str, name: str, value: str) -> Coroutine[Any, Any, None]:
        return self.client.set_subscription_attributes(subscription_arn, name, value)

    def sns_publish(
        self,
        topic_arn: str,
        message: str,
        *,
        message_attributes: Mapping[str, Any] | None = None,
        group_id: str | None = None,
        deduplication_id: str | None = None,
    ) -> Coroutine[Any, Any, str]:
        return self.client.sns_publish(
            topic_arn,
            message,
            message_attributes=message_attributes,
            group_id=group_id,
            deduplication_id=deduplication_id,
        )
