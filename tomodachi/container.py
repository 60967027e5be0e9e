"""Compat import path: ``tomodachi.container.ServiceContainer`` is upstream's ``ServiceContainer(module)``."""

from __future__ import annotations

from tomodachi.runtime.container import ServiceStartError, apply_config
from tomodachi.runtime.module_container import ModuleContainer as ServiceContainer

__all__ = ["ServiceContainer", "ServiceStartError", "apply_config"]
