"""A service file for the compat tests: serves a file next to it as a handler-returned aiohttp FileResponse."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

import tomodachi


class FileServing(tomodachi.Service):
    name = "file-serving"

    @tomodachi.http("GET", r"/(?:|index.html)")
    async def index(self, request: web.Request) -> web.StreamResponse:
        # upstream's websocket example: the service's own file path from its context, served as a FileResponse
        folder = Path(self.context.get("context", {}).get("_service_file_path")).parent
        return web.FileResponse(path=folder / "file_serving_service.py", chunk_size=256 * 1024)
