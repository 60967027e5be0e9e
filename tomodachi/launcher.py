"""Compat import path: ``tomodachi.launcher`` holds upstream's ``ServiceLauncher`` and our launcher."""

from __future__ import annotations

from tomodachi.runtime.launcher import Launcher, run_launcher, set_launcher_context
from tomodachi.runtime.module_container import ServiceLauncher

__all__ = ["Launcher", "ServiceLauncher", "run_launcher", "set_launcher_context"]
