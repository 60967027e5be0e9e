"""Transports: http and schedule live here; messaging compat modules re-export tomodachi.messaging."""

from __future__ import annotations

import importlib
from types import ModuleType

_SUBMODULES = ("amqp", "aws_sns_sqs", "awssnssqs", "http", "schedule")


def __getattr__(name: str) -> ModuleType:
    # upstream's package imported its transports eagerly, so `tomodachi.transport.awssnssqs` worked without an
    # import of its own; imported on first use here, to keep `import tomodachi` cheap
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
