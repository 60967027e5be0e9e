"""Compat import path: ``tomodachi.importer`` re-exports the service-file importer of ``tomodachi.runtime``, and
upstream's ``ServiceImporter`` facade over it."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

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
        return import_service_file(file_name)

    @classmethod
    def import_module(cls, file_name: str) -> ModuleType:
        """Import any Python file (not only a service file) by path."""
        return import_service_file(Path(file_name))


__all__ = [
    "ServiceFileError",
    "ServiceImporter",
    "ServicePackageError",
    "import_service_file",
    "load_services",
    "resolve_service_path",
    "service_classes_in",
]
