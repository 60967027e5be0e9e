"""Bundled service registries for the deprecated ``service.discovery`` list (resolved lazily).

``DummyRegistry`` (aliases ``dummy``, ``example``) only logs; ``AWSSNSRegistration`` (aliases ``awssns``,
``aws_sns``) announces the service on SNS topics. The hooks a registry may define are described in
``tomodachi.runtime.discovery``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tomodachi.discovery.aws_sns_registration import AWSSNSRegistration as AWSSNSRegistration
    from tomodachi.discovery.dummy_registry import DummyRegistry as DummyRegistry

# public name -> (module, attribute); an attribute of None means the module itself
_LAZY: dict[str, tuple[str, str | None]] = {
    "AWSSNSRegistration": ("tomodachi.discovery.aws_sns_registration", "AWSSNSRegistration"),
    "awssns": ("tomodachi.discovery.aws_sns_registration", "AWSSNSRegistration"),
    "aws_sns": ("tomodachi.discovery.aws_sns_registration", "AWSSNSRegistration"),
    "DummyRegistry": ("tomodachi.discovery.dummy_registry", "DummyRegistry"),
    "dummy": ("tomodachi.discovery.dummy_registry", "DummyRegistry"),
    "example": ("tomodachi.discovery.dummy_registry", "DummyRegistry"),
    "aws_sns_registration": ("tomodachi.discovery.aws_sns_registration", None),
    "dummy_registry": ("tomodachi.discovery.dummy_registry", None),
}

__all__ = list(_LAZY)


def __getattr__(name: str) -> Any:
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'tomodachi.discovery' has no attribute {name!r}")
    module_name, attribute = target
    module = importlib.import_module(module_name)
    value = module if attribute is None else getattr(module, attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
