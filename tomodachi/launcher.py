"""Compat import path: ``tomodachi.launcher`` re-exports the launcher of ``tomodachi.runtime``."""

from __future__ import annotations

from tomodachi.runtime.launcher import Launcher, run_launcher, set_launcher_context

__all__ = ["Launcher", "run_launcher", "set_launcher_context"]
