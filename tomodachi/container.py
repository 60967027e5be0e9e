"""Compat import path: ``tomodachi.container`` re-exports the service container of ``tomodachi.runtime``."""

from __future__ import annotations

from tomodachi.runtime.container import ServiceContainer, ServiceStartError, apply_config

__all__ = ["ServiceContainer", "ServiceStartError", "apply_config"]
