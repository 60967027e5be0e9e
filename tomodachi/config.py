"""Compat import path: ``tomodachi.config`` reads ``-c`` JSON files into one configuration dict."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tomodachi.options import merge_dicts

__all__ = ["merge_dicts", "parse_config_files"]


def parse_config_files(config_files: str | list[str] | None) -> dict[str, Any] | None:
    """The JSON files merged in order (later files win; lists are concatenated, dicts merged deeply), or None
    when no file is given."""
    if not config_files:
        return None
    files = [config_files] if isinstance(config_files, str) else list(config_files)
    configuration: dict[str, Any] = {}
    for file in files:
        configuration = merge_dicts(configuration, json.loads(Path(file).read_text(encoding="utf-8")))
    return configuration
