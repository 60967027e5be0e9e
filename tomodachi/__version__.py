"""The package's version and build time (upstream's module path for them)."""

from __future__ import annotations

__version_info__: tuple[int | str, ...] = (0, 29, 0)
__version__ = "0.29.0"
__build_time__: str | None = None
