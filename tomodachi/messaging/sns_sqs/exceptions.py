"""SNS+SQS exceptions; handlers raise the ``*InternalServiceError`` ones to have a message retried."""

from __future__ import annotations

from typing import Any

try:  # botocore ships with aiobotocore; without it QueueDoesNotExistError is still an AWSSNSSQSException
    from botocore.exceptions import ClientError as _ClientError
except ImportError:  # pragma: no cover

    class _ClientError(Exception):  # type: ignore[no-redef]
        def __init__(self, error_response: dict[str, Any], operation_name: str) -> None:
            super().__init__(error_response.get("Error", {}).get("Message", ""))
            self.response = error_response
            self.operation_name = operation_name


class AWSSNSSQSException(Exception):
    def __init__(self, *args: Any, log_level: str | None = "INFO", **kwargs: Any) -> None:
        super().__init__(*args)
        self._log_level = log_level or "INFO"


class AWSSNSSQSConnectionException(AWSSNSSQSException):
    pass


class AWSSNSSQSInternalServiceError(AWSSNSSQSException):
    """Raised by a handler: keep the message on the queue so it is received again."""


class AWSSNSSQSInternalServiceErrorException(AWSSNSSQSInternalServiceError):
    pass


class AWSSNSSQSInternalServiceException(AWSSNSSQSInternalServiceError):
    pass


class QueueDoesNotExistError(AWSSNSSQSException, _ClientError):  # type: ignore[misc]
    """``sqs_send_message`` to a queue that does not exist (also a botocore ``ClientError``)."""

    def __init__(
        self,
        message: str = "The specified queue does not exist.",
        *,
        operation_name: str = "GetQueueUrl",
        log_level: str | None = "INFO",
    ) -> None:
        _ClientError.__init__(
            self, {"Error": {"Code": "AWS.SimpleQueueService.NonExistentQueue", "Message": message}}, operation_name
        )
        self._log_level = log_level or "INFO"
        self.args = (message,)

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


INTERNAL_SERVICE_ERRORS: tuple[type[BaseException], ...] = (AWSSNSSQSInternalServiceError,)
