"""Compat import path: ``tomodachi.importer`` re-exports the service-file importer of ``tomodachi.runtime``, and
upstream's ``ServiceImporter`` facade over it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from tomodachi.runtime.importer import (
    ServiceFileError,
    import_service_file,
    load_services,
    resolve_service_path,
    service_classes_in,
)


class ServicePackageError(ImportError):
    """Upstream's error for a service package that cannot be imported (kept for ``except`` clauses)."""


class ServiceImporter:
    """Upstream's importer API: a service file given with or without ``.py``, relative to the working folder."""

    @classmethod
    def import_service_file(cls, file_name: str) -> ModuleType:
        """Raises what upstream's did: ``OSError`` for a missing file, else the error the import itself raised
        (``SyntaxError``, ``NameError``, ``ImportError`` …); ``ServicePackageError`` for a package that shadows a
        standard-library module."""
        return _upstream_errors(import_service_file, file_name)

    @classmethod
    def import_module(cls, file_name: str) -> ModuleType:
        """Import any Python file (not only a service file) by path."""
        return _upstream_errors(import_service_file, Path(file_name))


def _upstream_errors(importer: Callable[[Any], ModuleType], target: Any) -> ModuleType:
    """Import with upstream's exceptions, after logging upstream's line about the failure (operators search
    their logs for "no such service file" and "unable to load service file")."""
    try:
        return importer(target)
    except ServiceFileError as exc:
        from tomodachi.logging import get_logger

        log = get_logger("tomodachi.importer")
        cause = exc.__cause__
        if str(exc).startswith("no such service file"):
            log.error("no such service file", file_path=str(target))
            raise OSError(str(exc)) from exc
        log.error("unable to load service file", file_path=str(target), error=str(exc))
        if "would shadow the standard library" in str(exc):
            raise ServicePackageError(str(exc)) from exc
        if isinstance(cause, Exception):
            raise cause from exc
        raise


__all__ = [
    "ServiceFileError",
    "ServiceImporter",
    "ServicePackageError",
    "import_service_file",
    "load_services",
    "resolve_service_path",
    "service_classes_in",
]
