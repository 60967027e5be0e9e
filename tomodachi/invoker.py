"""Compat import path: ``tomodachi.invoker`` exports ``decorator`` and an ``Invoker`` marker base."""

from __future__ import annotations

from typing import Any, ClassVar

from tomodachi.handlers import decorator

__all__ = ["Invoker", "decorator"]


class Invoker:
    """Marker base for code that names the original invoker base class (imports and isinstance checks).

    Transports are not built on it here: custom transports written against the original ``Invoker`` API are
    not supported, and ``Invoker.decorator`` says so instead of silently doing nothing.
    """

    context: ClassVar[dict[str, Any]] = {}

    @classmethod
    def decorator(cls, cls_func: Any) -> Any:
        raise NotImplementedError(
            "custom transports based on tomodachi.invoker.Invoker are not supported; "
            "use the built-in decorators (tomodachi.http, amqp, aws_sns_sqs, schedule)"
        )
