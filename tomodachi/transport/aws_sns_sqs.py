"""Compat import path ``tomodachi.transport.aws_sns_sqs`` (upstream): exceptions, decorators and publish functions."""

from __future__ import annotations

from typing import Any

from tomodachi.envelope.base import MessageEnvelopeProtocol
from tomodachi.helpers.aiobotocore_connector import ClientConnector, connector
from tomodachi.messaging.sns_sqs.api import (
    MessageBodyFormatter,
    MessageBodyFormatterContext,
    MessageBodyFormatterProtocol,
    aws_sns_sqs,
    aws_sns_sqs_publish,
    aws_sns_sqs_send_message,
    awssnssqs,
    awssnssqs_send_message,
    publish,
    send_message,
    sns_publish,
    sqs_send_message,
)
from tomodachi.messaging.sns_sqs.exceptions import (
    AWSSNSSQSConnectionException,
    AWSSNSSQSException,
    AWSSNSSQSInternalServiceError,
    AWSSNSSQSInternalServiceErrorException,
    AWSSNSSQSInternalServiceException,
    QueueDoesNotExistError,
)
from tomodachi.messaging.sns_sqs.naming import decode_topic, encode_topic
from tomodachi.transport.upstream_classes import AWSSNSSQSTransport

# upstream's legacy name was its transport class's publish (a bound method, which some code checks for)
awssnssqs_publish = AWSSNSSQSTransport.publish

# the message attributes a handler receives: names to str, number, bool, bytes or lists of them (upstream's names)
MessageAttributesType = dict[str, Any]
MessageAttributesTypeDef = dict[str, dict[str, Any]]  # as botocore takes them

__all__ = [
    "AWSSNSSQSTransport",
    "AWSSNSSQSConnectionException",
    "AWSSNSSQSException",
    "AWSSNSSQSInternalServiceError",
    "AWSSNSSQSInternalServiceErrorException",
    "AWSSNSSQSInternalServiceException",
    "ClientConnector",
    "MessageBodyFormatter",
    "MessageBodyFormatterContext",
    "MessageBodyFormatterProtocol",
    "MessageAttributesType",
    "MessageAttributesTypeDef",
    "MessageEnvelopeProtocol",
    "QueueDoesNotExistError",
    "aws_sns_sqs",
    "aws_sns_sqs_publish",
    "aws_sns_sqs_send_message",
    "awssnssqs",
    "awssnssqs_publish",
    "awssnssqs_send_message",
    "connector",
    "decode_topic",
    "encode_topic",
    "publish",
    "send_message",
    "sns_publish",
    "sqs_send_message",
]
