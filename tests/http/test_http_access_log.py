"""Access log (JSON lines file), ignore_logging, and the trusted-proxy real IP."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import tomodachi


class Logged:
    @tomodachi.http("GET", r"/ip")
    async def ip(self, request: Any) -> str:
        return tomodachi.get_forwarded_remote_ip(request)

    @tomodachi.http("GET", r"/quiet", ignore_logging=True)
    async def quiet(self, request: Any) -> tuple[int, str]:
        return int(request.query.get("status", "200")), "q"

    @tomodachi.http("GET", r"/partly", ignore_logging=[204])
    async def partly(self, request: Any) -> tuple[int, str]:
        return int(request.query["status"]), ""

    @tomodachi.http("GET", r"/crash", ignore_logging=True)
    async def crash(self) -> str:
        raise RuntimeError("crash")


def read_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


async def test_access_log_file_gets_json_lines(serve: Any, tmp_path: Path) -> None:
    log_file = tmp_path / "access.log"
    async with serve(Logged, access_log=str(log_file)) as served:
        async with served.client.get("/ip?x=1", headers={"User-Agent": "probe", "Authorization": "Basic dXNlcjpwdw=="}):
            pass
    (entry,) = read_lines(log_file)
    assert entry["status_code"] == 200
    assert entry["request_method"] == "GET"
    assert entry["request_path"] == "/ip"
    assert entry["request_query_string"] == "x=1"
    assert entry["user_agent"] == "probe"
    assert entry["auth_user"] == "user"
    assert entry["remote_ip"] == "127.0.0.1"
    assert entry["http_version"] == "HTTP/1.1"
    assert entry["response_content_length"] == len("127.0.0.1")
    assert entry["request_time"].endswith("s") and entry["timestamp"].endswith("Z")


async def test_ignore_logging_hides_lines_but_keeps_server_errors(serve: Any, tmp_path: Path) -> None:
    log_file = tmp_path / "access.log"
    async with serve(Logged, access_log=str(log_file)) as served:
        for path in ("/quiet", "/quiet?status=404", "/quiet?status=503", "/crash", "/partly?status=204"):
            async with served.client.get(path):
                pass
        async with served.client.get("/partly?status=200"):
            pass
    logged = [(entry["request_path"], entry["status_code"]) for entry in read_lines(log_file)]
    assert logged == [("/quiet", 503), ("/crash", 500), ("/partly", 200)]


async def test_access_log_off_writes_nothing(serve: Any, tmp_path: Path) -> None:
    async with serve(Logged, access_log=False) as served:
        async with served.client.get("/ip") as response:
            assert response.status == 200
    assert os.listdir(tmp_path) == []


async def test_real_ip_header_trusted_only_from_real_ip_from(serve: Any) -> None:
    headers = {"X-Forwarded-For": "203.0.113.7, 10.0.0.1"}
    async with serve(Logged, real_ip_from=["127.0.0.0/8", "10.0.0.0/8"]) as served:
        async with served.client.get("/ip", headers=headers) as response:
            assert await response.text() == "203.0.113.7"  # past both trusted proxies
    async with serve(Logged, real_ip_from=["127.0.0.0/8"]) as served:
        async with served.client.get("/ip", headers=headers) as response:
            assert await response.text() == "10.0.0.1"  # what our proxy received from: 10.0.0.1 is not ours
        async with served.client.get("/ip", headers={"X-Forwarded-For": "not-an-ip"}) as response:
            assert await response.text() == "127.0.0.1"
    async with serve(Logged, real_ip_from=["10.0.0.0/8"]) as served:
        async with served.client.get("/ip", headers=headers) as response:
            assert await response.text() == "127.0.0.1"
    async with serve(Logged, real_ip_from=["127.0.0.1"], real_ip_header="X-Real-IP") as served:
        async with served.client.get("/ip", headers={"X-Real-IP": "2001:db8::1", **headers}) as response:
            assert await response.text() == "2001:db8::1"


async def test_a_client_cannot_choose_its_address_by_writing_x_forwarded_for(serve: Any) -> None:
    # the client sent "X-Forwarded-For: 6.6.6.6"; our proxy (127.0.0.1) appended the address it saw
    async with serve(Logged, real_ip_from=["127.0.0.1"]) as served:
        async with served.client.get("/ip", headers={"X-Forwarded-For": "6.6.6.6, 1.2.3.4"}) as response:
            assert await response.text() == "1.2.3.4"


async def test_log_lines_for_listening_and_access(serve: Any, caplog: Any) -> None:
    import logging

    caplog.set_level(logging.INFO)
    async with serve(Logged, access_log=True) as served:
        async with served.client.get("/ip"):
            pass
    by_logger = {(r.name, r.getMessage().split(" ")[0]) for r in caplog.records}
    assert ("tomodachi.http", "accepting") in by_logger
    access = [r for r in caplog.records if r.name == "tomodachi.http.response"]
    assert len(access) == 1 and "status_code=200" in access[0].getMessage()


async def test_access_log_hides_credential_values_in_the_query_string(serve: Any, tmp_path: Path) -> None:
    log_file = tmp_path / "access.log"
    query = "page=2&token=abc123&api_key=k&Password=p&x-signature=s&code=c&flag&empty="
    async with serve(Logged, access_log=str(log_file)) as served:
        async with served.client.get(f"/ip?{query}"):
            pass
    (entry,) = read_lines(log_file)
    assert entry["request_query_string"] == (
        "page=2&token=[hidden]&api_key=[hidden]&Password=[hidden]&x-signature=[hidden]&code=[hidden]&flag&empty="
    )
    assert "abc123" not in log_file.read_text()


async def test_access_log_file_is_created_readable_by_its_owner_only(serve: Any, tmp_path: Path) -> None:
    log_file = tmp_path / "access.log"
    previous = os.umask(0o022)
    try:
        async with serve(Logged, access_log=str(log_file)) as served:
            async with served.client.get("/ip"):
                pass
    finally:
        os.umask(previous)
    assert log_file.stat().st_mode & 0o777 == 0o600
