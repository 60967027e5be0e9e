"""`tomodachi topology <files>`: print a system's static wiring as text, Mermaid or JSON."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from tomodachi.topology.model import Topology

FORMATS = ("text", "mermaid", "json")


def render(topology: Topology, format: str) -> str:
    """``topology`` in one of :data:`FORMATS`."""
    from tomodachi.topology.mermaid import to_mermaid
    from tomodachi.topology.text import to_json, to_text

    renderers: dict[str, Callable[[Topology], str]] = {"text": to_text, "mermaid": to_mermaid, "json": to_json}
    try:
        return renderers[format](topology)
    except KeyError:
        raise ValueError(f"unknown topology format {format!r} (use {', '.join(FORMATS)})") from None


def write_topology(topology: Topology, path: str, format: str | None = None) -> None:
    """Write ``topology`` to ``path``; the format follows the suffix (.json, .txt, else Mermaid) unless given.
    A ``.md`` file gets the diagram in a fenced ``mermaid`` block, so GitHub renders it."""
    target = Path(path)
    chosen = format or {".json": "json", ".txt": "text"}.get(target.suffix, "mermaid")
    text = render(topology, chosen)
    if target.suffix == ".md" and chosen == "mermaid":
        text = f"```mermaid\n{text}```\n"
    target.write_text(text, encoding="utf-8")


def topology_command(
    files: Sequence[str], *, format: str = "text", output: str | None = None, config: Mapping[str, object] | None = None
) -> int:
    """Print (or write to ``output``) the wiring of every service in ``files``; returns the exit code."""
    from tomodachi.runtime.container import ServiceStartError
    from tomodachi.runtime.importer import ServiceFileError
    from tomodachi.topology.static import static_topology

    try:
        topology = static_topology(files, config)
    except (ServiceFileError, ServiceStartError) as exc:
        print(f"tomodachi: error: {exc}", file=sys.stderr)
        return 1
    if output:
        try:
            write_topology(topology, output, format)
        except OSError as exc:
            print(f"tomodachi: error: cannot write {output}: {exc.strerror or exc}", file=sys.stderr)
            return 1
    else:
        sys.stdout.write(render(topology, format))
    return 0
