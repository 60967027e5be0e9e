"""``execute_middlewares`` at its original import path (see ``tomodachi.middleware``)."""

from __future__ import annotations

from tomodachi.middleware import execute_middlewares

__all__ = ["execute_middlewares"]
