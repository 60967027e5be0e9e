"""@http_static: files inside the folder are served; nothing outside it ever is."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import pytest

import tomodachi
from tomodachi.transport.http.routing import RouteError


@pytest.fixture
def site(tmp_path: Path) -> Path:
    public = tmp_path / "public"
    (public / "css").mkdir(parents=True)
    (public / "index.html").write_text("<h1>home</h1>")
    (public / "css" / "site.css").write_text("body{}")
    (tmp_path / "secret.txt").write_text("TOP SECRET")
    os.symlink(tmp_path / "secret.txt", public / "leak.txt")
    os.symlink(tmp_path, public / "up")
    os.symlink(public / "index.html", public / "alias.html")  # a symlink staying inside is fine
    return public


def static_service(folder: Path) -> type:
    class Static:
        @tomodachi.http_static(str(folder), r"/static/")
        async def files(self) -> None: ...

    return Static


async def status_of(raw_http: Any, address: tuple[str, int], target: bytes) -> tuple[int, bytes]:
    data = await raw_http(address, b"GET " + target + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


async def test_serves_files_inside_the_folder(serve: Any, site: Path) -> None:
    async with serve(static_service(site)) as served:
        async with served.client.get("/static/index.html") as response:
            assert (response.status, await response.text()) == (200, "<h1>home</h1>")
            assert response.headers["Content-Type"].startswith("text/html")
            assert response.headers["Server"] == "tomodachi"
        async with served.client.get("/static/css/site.css") as response:
            assert await response.text() == "body{}"
        async with served.client.get("/static/alias.html") as response:
            assert response.status == 200


async def test_dotfiles_and_dot_folders_are_not_served(serve: Any, raw_http: Any, site: Path) -> None:
    (site / ".env").write_text("SECRET_KEY=1")
    (site / ".git").mkdir()
    (site / ".git" / "config").write_text("[core]")
    async with serve(static_service(site)) as served:
        for target in (b"/static/.env", b"/static/.git/config", b"/static/css/../.env"):
            status, body = await status_of(raw_http, served.address, target)
            assert status == 404, target
            assert b"SECRET_KEY" not in body


async def test_a_static_file_is_sent_without_an_error_in_the_log(
    serve: Any, site: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        async with serve(static_service(site)) as served:
            async with served.client.get("/static/index.html") as response:
                assert await response.text() == "<h1>home</h1>"
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_a_base_url_without_a_trailing_slash_serves_the_files_below_it(serve: Any, site: Path) -> None:
    class NoSlash:  # upstream's websocket example: @http_static("public/", r"/public")
        @tomodachi.http_static(str(site), r"/public")
        async def files(self) -> None: ...

    async with serve(NoSlash) as served:
        async with served.client.get("/public/index.html") as response:
            assert (response.status, await response.text()) == (200, "<h1>home</h1>")
        async with served.client.get("/public/css/site.css") as response:
            assert await response.text() == "body{}"
        async with served.client.get("/public/../secret.txt") as response:
            assert response.status == 404


@pytest.mark.parametrize(
    "target",
    [
        b"/static/../secret.txt",
        b"/static/%2e%2e/secret.txt",
        b"/static/%2E%2E%2Fsecret.txt",
        b"/static/css/../../secret.txt",
        b"/static//etc/passwd",
        b"/static/%2Fetc%2Fpasswd",
        b"/static/leak.txt",
        b"/static/up/secret.txt",
        b"/static/css",
        b"/static/css/",
        b"/static/missing.txt",
        b"/static/..%5csecret.txt",
        b"/static/index.html%00.txt",
    ],
)
async def test_nothing_outside_the_folder_is_served(serve: Any, raw_http: Any, site: Path, target: bytes) -> None:
    async with serve(static_service(site)) as served:
        status, body = await status_of(raw_http, served.address, target)
        assert status in (400, 404), target
        assert b"TOP SECRET" not in body and b"root:" not in body


async def test_relative_folder_resolves_next_to_the_service_file(serve: Any) -> None:
    class Relative:
        @tomodachi.http_static("static_files", r"/files/")
        async def files(self) -> None: ...

    async with serve(Relative) as served:
        async with served.client.get("/files/hello.txt") as response:
            assert await response.text() == "hello from the test folder"


async def test_serving_the_file_system_root_is_refused(serve: Any) -> None:
    with pytest.raises(RouteError, match="file system root"):
        async with serve(static_service(Path("/"))):
            pass
