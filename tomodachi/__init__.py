"""tomodachi: an asyncio microservice framework — HTTP, websockets, AMQP, AWS SNS+SQS and schedules.

Public names resolve lazily, so ``import tomodachi`` stays cheap and a service only imports the transports
it uses.
"""

from __future__ import annotations

import importlib
import sys

# typing costs more to import than the rest of this module: type checkers read the names below, Python does not
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__version_info__: tuple[int | str, ...] = (0, 29, 0)
__version__ = "0.29.0"
__build_time__: str | None = None

# upstream's module path for the version, served without reading a file at import time; tomodachi/__version__.py
# holds the same values for type checkers and tools that read the source
_version_module = type(sys)("tomodachi.__version__", "The package's version and build time.")
_version_module.__version_info__ = __version_info__  # type: ignore[attr-defined]
_version_module.__version__ = __version__  # type: ignore[attr-defined]
_version_module.__build_time__ = __build_time__  # type: ignore[attr-defined]
sys.modules.setdefault("tomodachi.__version__", _version_module)
del _version_module

__author__ = "tomodachi contributors"
__email__ = ""

DEFAULT_SERVICE_EXIT_CODE = 0
SERVICE_EXIT_CODE = DEFAULT_SERVICE_EXIT_CODE
CLASS_ATTRIBUTE = "_tomodachi_class_is_service_class"

_LAZY: dict[str, str] = {
    # service and runtime
    "Service": "tomodachi.service",
    "TomodachiServiceMeta": "tomodachi.service",
    "service": "tomodachi.service",
    "TOMODACHI_CLASSES": "tomodachi.service",
    "run": "tomodachi.run",
    "exit": "tomodachi.runtime.context",
    "get_service": "tomodachi.runtime.context",
    "get_instance": "tomodachi.runtime.context",
    "get_services": "tomodachi.runtime.context",
    "get_execution_context": "tomodachi.runtime.context",
    "set_execution_context": "tomodachi.runtime.context",
    "increase_execution_context_value": "tomodachi.runtime.context",
    "decrease_execution_context_value": "tomodachi.runtime.context",
    "context": "tomodachi.runtime.context",
    "get_contextvar": "tomodachi.runtime.context",
    "_set_service": "tomodachi.runtime.context",
    "_unset_service": "tomodachi.runtime.context",
    "_clear_services": "tomodachi.runtime.context",
    "_clear_execution_context": "tomodachi.runtime.context",
    "decorator": "tomodachi.handlers",
    # logging and options
    "get_logger": "tomodachi.logging",
    "Logger": "tomodachi.logging",
    "LoggerProtocol": "tomodachi.logging",
    "Options": "tomodachi.options",
    "OptionsInterface": "tomodachi.options",
    # http
    "http": "tomodachi.transport.http.api",
    "http_error": "tomodachi.transport.http.api",
    "http_static": "tomodachi.transport.http.api",
    "websocket": "tomodachi.transport.http.api",
    "ws": "tomodachi.transport.http.api",
    "HttpResponse": "tomodachi.transport.http.api",
    "HttpException": "tomodachi.transport.http.api",
    "get_http_response_status": "tomodachi.transport.http.api",
    "get_http_response_status_sync": "tomodachi.transport.http.api",
    "get_forwarded_remote_ip": "tomodachi.transport.http.api",
    # amqp
    "amqp": "tomodachi.messaging.amqp.api",
    "amqp_publish": "tomodachi.messaging.amqp.api",
    # aws sns+sqs
    "aws_sns_sqs": "tomodachi.messaging.sns_sqs.api",
    "awssnssqs": "tomodachi.messaging.sns_sqs.api",
    "aws_sns_sqs_publish": "tomodachi.messaging.sns_sqs.api",
    "awssnssqs_publish": "tomodachi.transport.aws_sns_sqs",
    "sns_publish": "tomodachi.messaging.sns_sqs.api",
    "aws_sns_sqs_send_message": "tomodachi.messaging.sns_sqs.api",
    "awssnssqs_send_message": "tomodachi.messaging.sns_sqs.api",
    "sqs_send_message": "tomodachi.messaging.sns_sqs.api",
    # scheduler
    "schedule": "tomodachi.transport.schedule.api",
    "scheduler": "tomodachi.transport.schedule.api",
    "heartbeat": "tomodachi.transport.schedule.api",
    "every_second": "tomodachi.transport.schedule.api",
    "minutely": "tomodachi.transport.schedule.api",
    "hourly": "tomodachi.transport.schedule.api",
    "daily": "tomodachi.transport.schedule.api",
    "monthly": "tomodachi.transport.schedule.api",
}

# submodules reachable as attributes after a bare ``import tomodachi`` (imported on first access)
_SUBMODULES = frozenset(
    (
        "cli container discovery envelope helpers importer invoker launcher logging options transport validation "
        "watcher"
    ).split()
)

if TYPE_CHECKING:  # give type checkers the real signatures of the lazily resolved names
    from tomodachi.handlers import decorator as decorator
    from tomodachi.logging import Logger as Logger
    from tomodachi.logging import LoggerProtocol as LoggerProtocol
    from tomodachi.logging import get_logger as get_logger
    from tomodachi.messaging.amqp.api import amqp as amqp
    from tomodachi.messaging.amqp.api import amqp_publish as amqp_publish
    from tomodachi.messaging.sns_sqs.api import aws_sns_sqs as aws_sns_sqs
    from tomodachi.messaging.sns_sqs.api import aws_sns_sqs_publish as aws_sns_sqs_publish
    from tomodachi.messaging.sns_sqs.api import aws_sns_sqs_send_message as aws_sns_sqs_send_message
    from tomodachi.messaging.sns_sqs.api import awssnssqs as awssnssqs
    from tomodachi.messaging.sns_sqs.api import awssnssqs_send_message as awssnssqs_send_message
    from tomodachi.messaging.sns_sqs.api import sns_publish as sns_publish
    from tomodachi.messaging.sns_sqs.api import sqs_send_message as sqs_send_message
    from tomodachi.options import Options as Options
    from tomodachi.options import OptionsInterface as OptionsInterface
    from tomodachi.run import run as run
    from tomodachi.runtime.context import context as context
    from tomodachi.runtime.context import decrease_execution_context_value as decrease_execution_context_value
    from tomodachi.runtime.context import exit as exit
    from tomodachi.runtime.context import get_contextvar as get_contextvar
    from tomodachi.runtime.context import get_execution_context as get_execution_context
    from tomodachi.runtime.context import get_instance as get_instance
    from tomodachi.runtime.context import get_service as get_service
    from tomodachi.runtime.context import get_services as get_services
    from tomodachi.runtime.context import increase_execution_context_value as increase_execution_context_value
    from tomodachi.runtime.context import set_execution_context as set_execution_context
    from tomodachi.service import TOMODACHI_CLASSES as TOMODACHI_CLASSES
    from tomodachi.service import Service as Service
    from tomodachi.service import TomodachiServiceMeta as TomodachiServiceMeta
    from tomodachi.transport.aws_sns_sqs import awssnssqs_publish as awssnssqs_publish
    from tomodachi.transport.http.api import HttpException as HttpException
    from tomodachi.transport.http.api import HttpResponse as HttpResponse
    from tomodachi.transport.http.api import get_forwarded_remote_ip as get_forwarded_remote_ip
    from tomodachi.transport.http.api import get_http_response_status as get_http_response_status
    from tomodachi.transport.http.api import get_http_response_status_sync as get_http_response_status_sync
    from tomodachi.transport.http.api import http as http
    from tomodachi.transport.http.api import http_error as http_error
    from tomodachi.transport.http.api import http_static as http_static
    from tomodachi.transport.http.api import websocket as websocket
    from tomodachi.transport.http.api import ws as ws
    from tomodachi.transport.schedule.api import daily as daily
    from tomodachi.transport.schedule.api import every_second as every_second
    from tomodachi.transport.schedule.api import heartbeat as heartbeat
    from tomodachi.transport.schedule.api import hourly as hourly
    from tomodachi.transport.schedule.api import minutely as minutely
    from tomodachi.transport.schedule.api import monthly as monthly
    from tomodachi.transport.schedule.api import schedule as schedule
    from tomodachi.transport.schedule.api import scheduler as scheduler


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None and name in _SUBMODULES:
        return importlib.import_module(f"tomodachi.{name}")  # the import also sets the attribute
    if module_name is None:
        raise AttributeError(f"module 'tomodachi' has no attribute {name!r}")
    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | _SUBMODULES)
