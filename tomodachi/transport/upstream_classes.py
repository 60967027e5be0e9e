"""Upstream's transport classes ``AmqpTransport`` and ``AWSSNSSQSTransport``: their naming helpers and publish,
as class methods over our functions (code that called them keeps working; the transports themselves are ours)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from tomodachi.options import Options


def _options(context: Any) -> Options:
    """The options a ``context`` (a service's context dict, a service, or ``{"options": {...}}``) holds."""
    value = context.get("options") if isinstance(context, Mapping) else getattr(context, "options", None)
    if isinstance(value, Options):
        return value
    return Options(**value) if isinstance(value, Mapping) else Options()


class AmqpTransport:
    """Upstream's AMQP transport class, for its naming helpers and ``publish``."""

    @classmethod
    def get_routing_key(cls, routing_key: str, context: Any, routing_key_prefix: str | None = None) -> str:
        prefix = _options(context).amqp.routing_key_prefix if routing_key_prefix is None else routing_key_prefix
        return f"{prefix or ''}{routing_key}"

    @classmethod
    def get_routing_key_without_prefix(
        cls, routing_key: str, context: Any, routing_key_prefix: str | None = None
    ) -> str:
        prefix = _options(context).amqp.routing_key_prefix if routing_key_prefix is None else routing_key_prefix
        return routing_key[len(prefix) :] if prefix and routing_key.startswith(prefix) else routing_key

    @staticmethod
    def encode_routing_key(routing_key: str) -> str:
        from tomodachi.messaging.amqp.naming import encode_routing_key

        return encode_routing_key(routing_key)

    @staticmethod
    def decode_routing_key(encoded_routing_key: str) -> str:
        from tomodachi.messaging.amqp.naming import decode_routing_key

        return decode_routing_key(encoded_routing_key)

    @classmethod
    def get_queue_name(
        cls, routing_key: str, func_name: str, _uuid: str, competing_consumer: bool | None, context: Any
    ) -> str:
        from tomodachi.messaging.amqp.naming import queue_name

        prefix = _options(context).amqp.queue_name_prefix
        return queue_name(routing_key, func_name, _uuid, competing=bool(competing_consumer), prefix=prefix)

    @classmethod
    def prefix_queue_name(cls, queue_name: str, context: Any) -> str:
        return f"{_options(context).amqp.queue_name_prefix or ''}{queue_name}"

    @classmethod
    async def publish(cls, service: Any, data: Any, routing_key: str = "", wait: bool = True, **kwargs: Any) -> Any:
        from tomodachi.messaging.amqp.api import amqp_publish

        return await amqp_publish(service, data, routing_key, wait=wait, **kwargs)


class KnownTopics(Mapping[str, str]):
    """Upstream's ``AWSSNSSQSTransport.topics``: topic ARNs by topic name, with or without the topic prefix, as the
    SNS+SQS brokers of the running services know them (a topic is known once a service published to it), and as
    they knew them when their services stopped."""

    def __init__(self) -> None:
        self._remembered: dict[str, str] = {}

    def remember(self, services: Iterable[Any]) -> None:
        """Keep what the brokers of ``services`` know (called before they stop and close their brokers)."""
        self._remembered.update(self._known_by(services))

    def forget(self) -> None:
        """Drop what stopped services' brokers knew."""
        self._remembered.clear()

    @staticmethod
    def _known_by(services: Iterable[Any]) -> dict[str, str]:
        from tomodachi.messaging.broker import environment_of
        from tomodachi.messaging.sns_sqs.naming import decode_topic, strip_topic_prefix

        found: dict[str, str] = {}
        for service in services:
            prefix = _options(service).aws_sns_sqs.topic_prefix
            for broker in environment_of(service).brokers():
                arns = getattr(broker, "topic_arns", None)  # the SNS+SQS broker's cache: final topic name -> ARN
                for name, arn in arns.items() if isinstance(arns, dict) else ():
                    found[name] = found[decode_topic(strip_topic_prefix(name, prefix))] = arn
        return found

    def _arns(self) -> dict[str, str]:
        from tomodachi.runtime.context import get_services

        return {**self._remembered, **self._known_by(get_services())}

    def __getitem__(self, topic: str) -> str:
        return self._arns()[topic]

    def __iter__(self) -> Iterator[str]:
        return iter(self._arns())

    def __len__(self) -> int:
        return len(self._arns())


class AWSSNSSQSTransport:
    """Upstream's SNS+SQS transport class, for its naming, validation and attribute helpers and ``publish``."""

    topics: KnownTopics = KnownTopics()

    @classmethod
    def get_topic_name(cls, topic: str, context: Any, fifo: bool = False) -> str:
        from tomodachi.messaging.sns_sqs.naming import topic_name

        return topic_name(topic, _options(context).aws_sns_sqs.topic_prefix, fifo=fifo)

    @classmethod
    def get_topic_name_without_prefix(cls, topic: str, context: Any) -> str:
        from tomodachi.messaging.sns_sqs.naming import strip_topic_prefix

        return strip_topic_prefix(topic, _options(context).aws_sns_sqs.topic_prefix)

    @staticmethod
    def encode_topic(topic: str) -> str:
        from tomodachi.messaging.sns_sqs.naming import encode_topic

        return encode_topic(topic)

    @staticmethod
    def decode_topic(encoded_topic: str) -> str:
        from tomodachi.messaging.sns_sqs.naming import decode_topic

        return decode_topic(encoded_topic)

    @classmethod
    def get_queue_name(
        cls,
        topic: str,
        func_name: str,
        _uuid: str,
        competing_consumer: bool | None,
        context: Any,
        fifo: bool = False,
    ) -> str:
        from tomodachi.messaging.sns_sqs.naming import queue_name

        prefix = _options(context).aws_sns_sqs.queue_name_prefix
        return queue_name(topic, func_name, _uuid, competing=competing_consumer, queue_name_prefix=prefix, fifo=fifo)

    @classmethod
    def prefix_queue_name(cls, queue_name: str, context: Any) -> str:
        return f"{_options(context).aws_sns_sqs.queue_name_prefix or ''}{queue_name}"

    @staticmethod
    def validate_topic_name(topic: str) -> None:
        from tomodachi.messaging.sns_sqs.naming import validate_topic_name

        validate_topic_name(topic)

    @staticmethod
    def validate_queue_name(queue_name: str) -> None:
        from tomodachi.messaging.sns_sqs.naming import validate_queue_name

        validate_queue_name(queue_name)

    @staticmethod
    def transform_message_attributes_to_botocore(message_attributes: Mapping[str, Any]) -> dict[str, Any]:
        from tomodachi.messaging.sns_sqs.attributes import encode

        return dict(encode(message_attributes))

    @staticmethod
    def transform_message_attributes_to_message_body_metadata(
        message_attributes: Mapping[str, Any],
    ) -> dict[str, Any]:
        from tomodachi.messaging.sns_sqs.attributes import encode, to_notification_form

        return dict(to_notification_form(encode(message_attributes)))

    @staticmethod
    def transform_message_attributes_from_response(message_attributes: Mapping[str, Any]) -> dict[str, Any]:
        from tomodachi.messaging.sns_sqs.attributes import decode

        return decode(message_attributes)

    @classmethod
    async def publish(cls, service: Any, data: Any, topic: str, wait: bool = True, **kwargs: Any) -> Any:
        from tomodachi.messaging.sns_sqs.api import aws_sns_sqs_publish

        return await aws_sns_sqs_publish(service, data, topic, wait=wait, **kwargs)
