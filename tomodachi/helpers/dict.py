"""``merge_dicts`` at its original import path (see ``tomodachi.options``)."""

from __future__ import annotations

from tomodachi.options import merge_dicts

__all__ = ["merge_dicts"]
