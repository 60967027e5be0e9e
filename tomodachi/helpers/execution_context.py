"""The execution-context helpers at their original import path; all live in ``tomodachi.runtime.context``."""

from __future__ import annotations

from tomodachi.runtime.context import (
    _clear_execution_context as clear_execution_context,
)
from tomodachi.runtime.context import (
    _clear_services as clear_services,
)
from tomodachi.runtime.context import (
    _set_service as set_service,
)
from tomodachi.runtime.context import (
    _unset_service as unset_service,
)
from tomodachi.runtime.context import (
    decrease_execution_context_value,
    get_execution_context,
    get_instance,
    get_service,
    get_services,
    increase_execution_context_value,
    set_execution_context,
)

__all__ = [
    "clear_execution_context",
    "clear_services",
    "decrease_execution_context_value",
    "get_execution_context",
    "get_instance",
    "get_service",
    "get_services",
    "increase_execution_context_value",
    "set_execution_context",
    "set_service",
    "unset_service",
]
