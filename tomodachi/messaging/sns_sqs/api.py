"""User API for AWS SNS+SQS: the ``@aws_sns_sqs`` decorator, ``sns_publish`` and ``sqs_send_message``.

Importing this module is cheap: no aiobotocore, and the broker is looked up only when a message is sent.
"""

from __future__ import annotations

import asyncio
import copy
import json
import uuid
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from tomodachi.handlers import invoker
from tomodachi.messaging.envelope_choice import resolve_envelope
from tomodachi.messaging.outgoing import PUBLISH_ATTEMPTS, add_outgoing_headers
from tomodachi.messaging.sns_sqs import attributes as attribute_codec
from tomodachi.messaging.sns_sqs import naming
from tomodachi.messaging.sns_sqs.descriptors import SnsPublication, SqsPublication
from tomodachi.messaging.unset import UNSET
from tomodachi.runtime.observe import Observer, report_published


def _envelope_argument(message_envelope: Any, message_protocol: Any) -> Any:
    """The envelope argument given (``UNSET``: none); ``message_protocol`` is its deprecated name."""
    if message_envelope is UNSET and message_protocol is not UNSET:
        warnings.warn(
            "Using the 'message_protocol' keyword argument is deprecated. Use 'message_envelope' instead.",
            DeprecationWarning,
            stacklevel=4,
        )
        return message_protocol
    return message_envelope


@invoker("aws_sns_sqs")
def aws_sns_sqs(
    topic: str | None = None,
    callback_kwargs: list[str] | tuple[str, ...] | set[str] | None = None,
    competing: bool | None = None,
    queue_name: str | None = None,
    *,
    message_envelope: Any = UNSET,
    message_protocol: Any = UNSET,
    filter_policy: Any = UNSET,
    visibility_timeout: Any = UNSET,
    dead_letter_queue_name: Any = UNSET,
    max_receive_count: Any = UNSET,
    fifo: bool = False,
    max_number_of_consumed_messages: int = 10,
    **kwargs: Any,
) -> dict[str, Any]:
    """Consume an SQS queue subscribed to ``topic`` (or a topic-less queue named by ``queue_name``)."""
    if topic is None and queue_name is None:
        raise ValueError("@aws_sns_sqs needs a topic, a queue_name, or both")
    if topic is not None and (not isinstance(topic, str) or not topic):
        raise ValueError(f"@aws_sns_sqs topic must be a non-empty string, got {topic!r}")
    if queue_name and competing is False:
        raise ValueError("@aws_sns_sqs: an AWS SQS queue with predefined queue name must be competing")
    envelope = _envelope_argument(message_envelope, message_protocol)
    if envelope is not UNSET and envelope is not None:
        from tomodachi.envelope.base import validate_envelope

        validate_envelope(envelope, **kwargs)

    if filter_policy is not UNSET:
        if isinstance(filter_policy, str):
            filter_policy = json.loads(filter_policy)
        if filter_policy is None:
            filter_policy = {}
        from tomodachi.messaging.sns_sqs.filter_policy import validate

        validate(filter_policy)

    if visibility_timeout is not UNSET:
        from tomodachi.messaging.sns_sqs.consumer import MAX_VISIBILITY_TIMEOUT

        if isinstance(visibility_timeout, bool) or not isinstance(visibility_timeout, int):
            raise ValueError(f"@aws_sns_sqs visibility_timeout must be an int, got {visibility_timeout!r}")
        if not 0 <= visibility_timeout <= MAX_VISIBILITY_TIMEOUT:
            raise ValueError(f"@aws_sns_sqs visibility_timeout must be 0-{MAX_VISIBILITY_TIMEOUT} seconds")

    if dead_letter_queue_name is not UNSET and dead_letter_queue_name is not None:
        if max_receive_count is UNSET or max_receive_count is None:
            raise ValueError("@aws_sns_sqs: dead_letter_queue_name needs max_receive_count as well")
    if max_receive_count is not UNSET and max_receive_count is not None:
        if dead_letter_queue_name is UNSET:
            raise ValueError("@aws_sns_sqs: max_receive_count needs dead_letter_queue_name as well")
        if isinstance(max_receive_count, bool) or not isinstance(max_receive_count, int) or max_receive_count < 1:
            raise ValueError(f"@aws_sns_sqs max_receive_count must be an int >= 1, got {max_receive_count!r}")

    if topic is not None and not naming.is_wildcard(topic):
        naming.sns_topic_name(topic, "", fifo=fifo)  # fail at class definition on a name SNS cannot take
    if queue_name is not None:
        naming.resolve_queue_name(queue_name, "", fifo=fifo)

    batch = max_number_of_consumed_messages
    if isinstance(batch, bool) or not isinstance(batch, int) or not 1 <= batch <= 10:
        from tomodachi.settings_check import warn_once

        # upstream took any value and used 10 when it was out of range: existing services may carry one
        warn_once(
            f"max_number_of_consumed_messages={batch!r}",
            f"@aws_sns_sqs max_number_of_consumed_messages={batch!r} is not a whole number from 1 to 10 (the "
            "most SQS receives per call): 10 is used",
            stacklevel=4,  # warn_once ← this function ← the decorator factory ← the service class body
        )
        batch = 10
    return {
        "topic": topic,
        "callback_kwargs": tuple(callback_kwargs) if callback_kwargs else None,
        "competing": competing,
        "queue_name": queue_name,
        "message_envelope": envelope,
        "filter_policy": filter_policy,
        "visibility_timeout": visibility_timeout,
        "dead_letter_queue_name": dead_letter_queue_name,
        "max_receive_count": None if max_receive_count is UNSET else max_receive_count,
        "fifo": bool(fifo),
        "max_number_of_consumed_messages": 1 if fifo else batch,
        "parser_kwargs": dict(kwargs),
    }


awssnssqs = aws_sns_sqs


# ---- publishing ------------------------------------------------------------------------------------------


def _options(service: Any) -> Any:
    options = getattr(service, "options", None)
    if options is None:
        raise TypeError("sns_publish / sqs_send_message need a live service instance as the first argument")
    return options


def _prefix(value: Any, option: str) -> str:
    return option or "" if value is UNSET else (value or "")


async def _send_with_retries(service: Any, publication: Any) -> str:
    from tomodachi.messaging.broker import environment_of
    from tomodachi.messaging.sns_sqs.brokers import get_broker
    from tomodachi.messaging.sns_sqs.client import AwsApiError
    from tomodachi.messaging.sns_sqs.exceptions import AWSSNSSQSException, QueueDoesNotExistError

    environment = environment_of(service)
    broker = get_broker(environment, _options(service))
    last: BaseException | None = None
    for _ in range(PUBLISH_ATTEMPTS):
        try:
            message_id = str(await broker.publish(publication))
            _report(environment.observers, service, publication)
            return message_id
        except (ValueError, TypeError, QueueDoesNotExistError, NotImplementedError):
            raise
        except Exception as exc:  # transient: try again (upstream: 3 attempts)
            if isinstance(exc, AwsApiError) and exc.refusal:
                raise  # SNS/SQS refused the message itself (an invalid attribute, too long): the same again
            last = exc
    raise AWSSNSSQSException(f"Unable to publish message [sns/sqs]: {last}") from last


def _report(observers: Sequence[Observer], service: Any, publication: Any) -> None:
    if not observers:
        return
    if isinstance(publication, SnsPublication):
        report_published(observers, service, "aws_sns_sqs", "sns", publication.topic, naming.decode_topic)
    else:
        report_published(observers, service, "aws_sns_sqs", "sqs", publication.queue, naming.readable_queue_name)


async def _maybe_task(coro: Any, wait: bool) -> Any:
    """Await the send (``wait=True``), or start it as a Task and return the Task."""
    if wait:
        return await coro
    return asyncio.get_running_loop().create_task(coro)


async def aws_sns_sqs_publish(
    service: Any,
    data: Any,
    topic: str,
    wait: bool = True,
    *,
    message_envelope: Any = UNSET,
    message_protocol: Any = UNSET,
    topic_prefix: Any = UNSET,
    message_attributes: Mapping[str, Any] | None = None,
    topic_attributes: Any = UNSET,
    overwrite_topic_attributes: bool = False,
    group_id: str | None = None,
    deduplication_id: str | None = None,
    **kwargs: Any,
) -> Any:
    """Publish ``data`` to SNS ``topic``; returns the SNS MessageId (or a Task when ``wait=False``)."""
    options = _options(service)
    envelope = resolve_envelope(service, _envelope_argument(message_envelope, message_protocol))
    attrs: dict[str, Any] = copy.deepcopy(dict(message_attributes or {}))
    payload = data
    if envelope is not None and callable(getattr(envelope, "build_message", None)):
        payload = await envelope.build_message(service, topic, data, message_attributes=attrs, **kwargs)
    if not isinstance(payload, str):
        raise TypeError(f"sns_publish without an envelope needs str data, got {type(payload).__name__}")
    if topic_attributes is not UNSET and topic_attributes is not None and not isinstance(topic_attributes, Mapping):
        raise TypeError("sns_publish topic_attributes must be a dict mapping")
    aws = options.aws_sns_sqs
    if group_id is not None and not deduplication_id:
        # chosen once, so a retried publish (lost response) is de-duplicated by SNS instead of delivered twice
        deduplication_id = str(uuid.uuid4())
    add_outgoing_headers(attrs, service, "sns", topic)
    publication = SnsPublication(
        topic=naming.sns_topic_name(topic, _prefix(topic_prefix, aws.topic_prefix), fifo=group_id is not None),
        message=payload,
        message_attributes=attribute_codec.encode(attrs),
        group_id=group_id,
        deduplication_id=deduplication_id,
        topic_attributes=topic_attributes if isinstance(topic_attributes, Mapping) else None,
        overwrite_topic_attributes=overwrite_topic_attributes,
        sns_kms_master_key_id=aws.sns_kms_master_key_id,
    )
    return await _maybe_task(_send_with_retries(service, publication), wait)


awssnssqs_publish = aws_sns_sqs_publish
sns_publish = aws_sns_sqs_publish
publish = aws_sns_sqs_publish


@dataclass(frozen=True)
class MessageBodyFormatterContext:
    data: Any
    message_attributes: dict[str, Any]
    queue_name: str
    queue_url: str
    service: Any
    message_envelope: Any
    formatter: Any
    kwargs: dict[str, Any]


class MessageBodyFormatterProtocol(Protocol):
    async def __call__(self, context: MessageBodyFormatterContext, **kwargs: Any) -> str: ...


class MessageBodyFormatter:
    """Default SQS body: an SNS-notification-like JSON document wrapping the enveloped message."""

    Context = MessageBodyFormatterContext

    async def __call__(self, context: MessageBodyFormatterContext, **kwargs: Any) -> str:
        payload = context.data
        envelope = context.message_envelope
        if envelope is not None and callable(getattr(envelope, "build_message", None)):
            payload = await envelope.build_message(
                context.service, "", context.data, message_attributes=context.message_attributes, **context.kwargs
            )
        from tomodachi.messaging.broker import environment_of

        now = environment_of(context.service).clock.now()
        body: dict[str, Any] = {
            "Type": "Message",
            "QueueUrl": context.queue_url,
            "Version": "0",
            "Message": payload,
            "Timestamp": now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z",
        }
        if context.message_attributes:
            body["MessageAttributes"] = attribute_codec.to_notification_form(
                attribute_codec.encode(context.message_attributes)
            )
        return json.dumps(body)


async def aws_sns_sqs_send_message(
    service: Any,
    data: Any,
    queue_name: str,
    wait: bool = True,
    *,
    message_envelope: Any = UNSET,
    message_protocol: Any = UNSET,
    queue_name_prefix: Any = UNSET,
    message_attributes: Mapping[str, Any] | None = None,
    group_id: str | None = None,
    deduplication_id: str | None = None,
    delay_seconds: int | None = None,
    message_body_formatter: Any = MessageBodyFormatter,
    **kwargs: Any,
) -> Any:
    """Send ``data`` straight to an existing SQS queue; returns the SQS MessageId (or a Task)."""
    options = _options(service)
    envelope = resolve_envelope(service, _envelope_argument(message_envelope, message_protocol))
    fifo_name = queue_name.endswith(naming.FIFO_SUFFIX)
    if group_id is not None and not fifo_name:
        raise ValueError("MessageGroupId, 'group_id', cannot be used with non-FIFO queue in 'send_message' call")
    if group_id is None and fifo_name:
        raise ValueError("MessageGroupId, 'group_id', missing in 'send_message' call for implied FIFO queue")
    if queue_name.startswith(("https://", "http://")) or naming.is_queue_arn(queue_name):
        target = queue_name
    else:
        target = naming.prefixed_queue_name(
            queue_name, _prefix(queue_name_prefix, options.aws_sns_sqs.queue_name_prefix)
        )
    attrs: dict[str, Any] = copy.deepcopy(dict(message_attributes or {}))
    formatter = message_body_formatter() if isinstance(message_body_formatter, type) else message_body_formatter
    if formatter is None:
        if not isinstance(data, str):
            raise TypeError(f"sqs_send_message without a body formatter needs str data, got {type(data).__name__}")
        body = data
    else:
        queue_url = target if target.startswith(("https://", "http://")) else await _queue_url(service, target)
        body = await formatted_send_body(service, data, queue_name, queue_url, envelope, attrs, formatter, kwargs)
    if fifo_name and not deduplication_id:
        deduplication_id = str(uuid.uuid4())  # once for all attempts, as for sns_publish
    add_outgoing_headers(attrs, service, "sqs", queue_name)
    publication = SqsPublication(
        queue=target,
        body=body,
        message_attributes=attribute_codec.encode(attrs),
        group_id=group_id,
        deduplication_id=deduplication_id,
        delay_seconds=delay_seconds,
    )
    return await _maybe_task(_send_with_retries(service, publication), wait)


async def formatted_send_body(
    service: Any,
    data: Any,
    queue_name: str,
    queue_url: str,
    envelope: Any,
    attrs: dict[str, Any],
    formatter: Any = None,
    kwargs: Mapping[str, Any] | None = None,
) -> str:
    """The SQS body ``formatter`` (default: a :class:`MessageBodyFormatter`) makes of ``data`` sent to the queue at
    ``queue_url`` — what ``aws_sns_sqs_send_message`` sends."""
    formatter = formatter if formatter is not None else MessageBodyFormatter()
    extra = dict(kwargs or {})
    context = MessageBodyFormatterContext(
        data=data,
        message_attributes=attrs,
        queue_name=queue_name,
        queue_url=queue_url,
        service=service,
        message_envelope=envelope,
        formatter=formatter,
        kwargs=extra,
    )
    return str(await formatter(context, **extra))


async def _queue_url(service: Any, target: str) -> str:
    from tomodachi.messaging.broker import environment_of
    from tomodachi.messaging.sns_sqs.brokers import get_broker
    from tomodachi.messaging.sns_sqs.exceptions import QueueDoesNotExistError

    broker = get_broker(environment_of(service), _options(service))
    name = naming.queue_name_from_arn(target) if naming.is_queue_arn(target) else target
    url = await broker.get_queue_url(name)
    if url is None:
        raise QueueDoesNotExistError(
            f"Cannot send message to non-existent (AWS.SimpleQueueService.NonExistentQueue) SQS queue: {name}"
        )
    return str(url)


awssnssqs_send_message = aws_sns_sqs_send_message
sqs_send_message = aws_sns_sqs_send_message
send_message = aws_sns_sqs_send_message
