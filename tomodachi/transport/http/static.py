"""Static files for ``@http_static``: a requested name resolves to a regular file inside the folder, or to 404."""

from __future__ import annotations

import inspect
import os
from pathlib import Path

from tomodachi.transport.http.routing import RouteError


def static_root(path: str, service: object, owner: str) -> Path:
    """The served folder: ``path`` as given if absolute, else relative to the service class's source file."""
    folder = Path(path)
    if not folder.is_absolute():
        try:
            base = Path(inspect.getfile(type(service))).resolve().parent
        except (TypeError, OSError):
            base = Path.cwd()
        folder = base / folder
    resolved = folder.resolve()
    if resolved == Path(resolved.anchor):
        raise RouteError(f"{owner}: refusing to serve the file system root ({path!r})")
    return resolved


def resolve_file(root: Path, filename: str | None) -> Path | None:
    """The file to serve, or ``None`` when the name is empty, absolute, escapes ``root`` (``..``, symlinks) or is
    not a regular file. ``root`` must already be resolved."""
    if not filename or "\x00" in filename or "\\" in filename:
        return None
    # a base URL without its trailing slash ("/public") leaves the slash on the name: it is still a name inside
    # the folder (the containment check below keeps it there)
    filename = filename.lstrip("/")
    if not filename or os.path.isabs(filename):
        return None
    # dotfiles and dot-folders (.env, .git/…) are never part of a site
    if any(part.startswith(".") for part in filename.split("/")):
        return None
    try:
        candidate = (root / filename).resolve()
    except (OSError, RuntimeError, ValueError):  # symlink loops, invalid names
        return None
    if not candidate.is_relative_to(root) or candidate == root:
        return None
    try:
        if not candidate.is_file():
            return None
    except OSError:
        return None
    return candidate
