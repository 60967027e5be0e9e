"""Shared by the harness tests: the ``delivering`` decorator (served by conftest's DeliveringTransport) and a
service that calls ``tomodachi.exit()`` from a handler."""

from __future__ import annotations

from typing import Any

import tomodachi
from tomodachi.handlers import invoker


@invoker("delivering")
def delivering(topic: str = "default") -> dict[str, Any]:
    return {"topic": topic}


class Quitter(tomodachi.Service):
    name = "quitter"

    def __init__(self) -> None:
        self.stopped = False

    async def _stop_service(self) -> None:
        self.stopped = True

    @delivering("quit")
    async def quit(self) -> None:
        tomodachi.exit(3)
