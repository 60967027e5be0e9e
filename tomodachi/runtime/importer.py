"""Loads service files as modules and finds the service classes defined in them, with readable errors."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import re
import sys
import traceback
from pathlib import Path
from types import ModuleType

from tomodachi.service import is_runnable_service_class


class ServiceFileError(Exception):
    """A service file could not be used; the message names the file (and line where known)."""


def resolve_service_path(path: str | Path, cwd: Path | None = None) -> Path:
    candidate = Path(path)
    if not candidate.is_absolute():
        candidate = (cwd or Path.cwd()) / candidate
    if not candidate.exists() and candidate.suffix != ".py" and candidate.with_suffix(".py").exists():
        candidate = candidate.with_suffix(".py")
    if candidate.is_dir() and (candidate / "__init__.py").exists():
        candidate = candidate / "__init__.py"
    if not candidate.is_file():
        where = "" if Path(path).is_absolute() else f" (relative to the working directory {cwd or Path.cwd()})"
        raise ServiceFileError(f"no such service file: {path}{where}")
    return candidate.resolve()


def _module_name_for(path: Path) -> str:
    return path.parent.name if path.name == "__init__.py" else path.stem


def _package_of(path: Path) -> tuple[str, Path] | None:
    """For a file inside a package (folders with ``__init__.py``): the dotted package and the folder above the
    outermost package, which must be on sys.path for the file's relative imports to resolve."""
    parts: list[str] = []
    folder = path.parent
    while (folder / "__init__.py").is_file() and folder.name.isidentifier():
        parts.insert(0, folder.name)
        folder = folder.parent
    return (".".join(parts), folder) if parts else None


def _implicit_package(path: Path, source: str) -> tuple[str, Path] | None:
    """A service file with relative imports in a folder without ``__init__.py``: its folder is taken as a
    (namespace) package, as upstream does, so ``from .helpers import x`` finds the folder's ``helpers``."""
    if not re.search(r"^\s*from\s+\.", source, flags=re.MULTILINE) or path.name == "__init__.py":
        return None
    folder = path.parent.name
    # the import system takes any name without dots ("test-copy" too), as upstream's importer relied on
    return (folder, path.parent.parent) if folder and "." not in folder else None


def _namespace_package(name: str, folder: Path) -> None:
    """Register ``folder`` as the namespace package ``name`` up front: left to the import system, a module of the
    same name inside the folder (``svc-copy/svc-copy.py``, whose folder is on sys.path) would stand in for it."""
    existing = sys.modules.get(name)
    if existing is not None and str(folder) in list(getattr(existing, "__path__", None) or []):
        return
    spec = importlib.machinery.ModuleSpec(name, None, is_package=True)
    spec.submodule_search_locations = [str(folder)]
    sys.modules[name] = importlib.util.module_from_spec(spec)


def import_service_file(path: str | Path) -> ModuleType:
    """Import ``path`` as a top-level module (its folder goes on sys.path, as for ``python file.py``); a file
    inside a package is imported as part of it, so its relative imports work."""
    resolved = resolve_service_path(path)
    folder = str(resolved.parent.parent if resolved.name == "__init__.py" else resolved.parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    module_name = _module_name_for(resolved)
    try:
        source = resolved.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ServiceFileError(f"cannot read service file {resolved}: {exc}") from exc
    packaged = _package_of(resolved)
    implicit = None if packaged else _implicit_package(resolved, source)
    package = packaged or implicit
    search_locations: list[str] | None = None
    if package is not None:
        dotted, root = package
        if dotted.split(".")[0] in sys.stdlib_module_names:
            raise ServiceFileError(
                f"cannot import {resolved}: its package {dotted.split('.')[0]!r} would shadow the standard library "
                "module of that name (rename the folder)"
            )
        if str(root) not in sys.path:
            sys.path.insert(0, str(root))
        if implicit is not None:
            _namespace_package(dotted, resolved.parent)
        if resolved.name == "__init__.py":
            module_name, search_locations = dotted, [str(resolved.parent)]
        else:
            module_name = f"{dotted}.{resolved.stem}"
    try:
        compile(source, str(resolved), "exec")
    except SyntaxError as exc:
        kind = "indentation error" if isinstance(exc, IndentationError) else "syntax error"
        raise ServiceFileError(f"{kind} in file {resolved}:{exc.lineno}: {exc.msg}") from exc
    spec = importlib.util.spec_from_file_location(module_name, resolved, submodule_search_locations=search_locations)
    if spec is None or spec.loader is None:
        raise ServiceFileError(f"cannot import service file: {resolved}")
    module = importlib.util.module_from_spec(spec)
    previous = sys.modules.get(module_name)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        if previous is not None:
            sys.modules[module_name] = previous
        else:
            sys.modules.pop(module_name, None)
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == str(resolved)]
        where = f"{resolved}:{frames[-1].lineno}" if frames else str(resolved)
        hint = ""
        if isinstance(exc, ModuleNotFoundError) and exc.name:
            hint = f" (is the package '{exc.name}' installed?)"
        raise ServiceFileError(f"error importing {where}: {type(exc).__name__}: {exc}{hint}") from exc
    return module


def service_classes_in(module: ModuleType) -> list[type]:
    """Service classes defined in ``module`` itself (imported service classes are not run), in source order."""
    # a module's namespace keeps definition order, so no source lookup (inspect/tokenize: ~10 ms) is needed
    return [
        value
        for value in vars(module).values()
        if is_runnable_service_class(value) and getattr(value, "__module__", None) == module.__name__
    ]


def load_services(path: str | Path) -> tuple[Path, list[type]]:
    resolved = resolve_service_path(path)
    module = import_service_file(resolved)
    classes = service_classes_in(module)
    if not classes:
        raise ServiceFileError(f"no transport handlers defined in {resolved}: no service class found")
    return resolved, classes
