"""Compat import path: ``tomodachi.importer`` re-exports the service-file importer of ``tomodachi.runtime``."""

from __future__ import annotations

from tomodachi.runtime.importer import (
    ServiceFileError,
    import_service_file,
    load_services,
    resolve_service_path,
    service_classes_in,
)

__all__ = ["ServiceFileError", "import_service_file", "load_services", "resolve_service_path", "service_classes_in"]
