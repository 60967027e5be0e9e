"""What the command line prints about itself: the start-up banner of `tomodachi run` and the dependency versions of
`tomodachi --dependency-versions`."""

from __future__ import annotations

import os
from typing import Protocol

import tomodachi


def dependency_versions() -> list[str]:
    from importlib import metadata  # costs tens of milliseconds: only imported when asked for versions

    lines = []
    optional = ("protobuf", "uvloop", "opentelemetry-api", "opentelemetry-sdk", "opentelemetry-instrumentation")
    for package in ("aioamqp", "aiobotocore", "aiohttp", "botocore", "croniter", "structlog", *optional):
        try:
            lines.append(f"{package}/{metadata.version(package)}")
        except metadata.PackageNotFoundError:
            if package in ("aioamqp", "aiobotocore", "aiohttp", "botocore"):
                lines.append(f"{package}/(not installed)")
    return lines


BANNER_LABEL_WIDTH = 23  # upstream's column: "tomodachi version      ⇢ 0.29.0" is what log searches match


class BannerArguments(Protocol):
    """What the banner shows of a parsed `tomodachi run` command line."""

    files: list[str]
    loop: str
    brokers: dict[str, str]


def print_banner(arguments: BannerArguments) -> None:
    """Printed before the services start, unless --production."""
    import platform

    files = ", ".join(arguments.files)
    rows = [
        ("process", f"[pid: {os.getpid()}] $ tomodachi run {files}"),
        ("service files" if len(arguments.files) > 1 else "service file", files),
        ("operating system", f"{platform.system()} {platform.release()}"),
        ("python runtime", f"{platform.python_implementation()} {platform.python_version()}"),
        ("tomodachi version", tomodachi.__version__),
        ("event loop", "asyncio (auto)" if arguments.loop == "auto" else arguments.loop),
    ]
    if "memory" in arguments.brokers.values():
        rows.append(("message brokers", ", ".join(f"{bus}: {kind}" for bus, kind in arguments.brokers.items())))
    lines = ["tomodachi", *(f"  {label.ljust(BANNER_LABEL_WIDTH)}⇢ {value}" for label, value in rows)]
    lines += [
        "  ⌁ [watcher] file watcher enabled - restarts services on code changes",
        "  ⌁ [notice ] stop running services with <ctrl+c>",
        "",
    ]
    print("\n".join(lines), flush=True)
