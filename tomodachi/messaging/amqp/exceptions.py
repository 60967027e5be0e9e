"""Exceptions of the AMQP transport (public at ``tomodachi.transport.amqp``)."""

from __future__ import annotations

from typing import Any


class AmqpException(Exception):
    """Base class; ``log_level=`` (keyword) is kept as ``_log_level`` for compatibility (default ``"INFO"``)."""

    def __init__(self, *args: Any, log_level: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args)
        self._log_level = log_level or "INFO"


class AmqpInternalServiceError(AmqpException):
    """Raise from a handler to have the message retried whatever the service's error policy."""


class AmqpInternalServiceErrorException(AmqpInternalServiceError):
    pass


class AmqpInternalServiceException(AmqpInternalServiceError):
    pass


class AmqpExclusiveQueueLockedException(AmqpException):
    """The queue is exclusively locked by another connection (AMQP 405)."""


class AmqpTooManyConsumersException(AmqpException):
    """A non-competing queue already has a consumer (two processes of one service with the same uuid?)."""


class AmqpConnectionException(AmqpException):
    """The broker could not be reached."""


class AmqpChannelClosed(AmqpException):
    """The broker closed the channel; ``code`` is the AMQP reply code when known."""

    def __init__(self, *args: Any, code: int | None = None, log_level: str | None = None) -> None:
        super().__init__(*args, log_level=log_level)
        self.code = code


INTERNAL_SERVICE_ERRORS: tuple[type[BaseException], ...] = (AmqpInternalServiceError,)
