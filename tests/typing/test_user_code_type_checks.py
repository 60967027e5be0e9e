"""A user's service type-checks under ``mypy --strict``: the public decorators keep handler signatures."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

USER_SERVICE = """
from typing import Any

import tomodachi


class Service(tomodachi.Service):
    name = "typed"

    @tomodachi.amqp("a.b")
    async def on_amqp(self, data: Any) -> None: ...

    @tomodachi.aws_sns_sqs("topic", competing=True)
    async def on_sns(self, data: Any) -> None: ...

    @tomodachi.http("GET", r"/")
    async def index(self, request: Any) -> str:
        return "x"

    @tomodachi.websocket(r"/ws")
    async def socket(self, websocket: Any) -> None: ...

    @tomodachi.minutely
    async def tick(self) -> None: ...

    @tomodachi.schedule(interval="every 5 seconds")
    async def every_five(self) -> None: ...

    async def publish(self) -> None:
        await tomodachi.amqp_publish(self, {"a": 1}, routing_key="a.b")
        await tomodachi.sns_publish(self, {"a": 1}, "topic")


reveal_type(Service.index)
"""


def test_decorated_handlers_keep_their_types(tmp_path: Path) -> None:
    path = tmp_path / "user_service.py"
    path.write_text(textwrap.dedent(USER_SERVICE))
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--follow-imports=silent", str(path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert 'Revealed type is "def (self: user_service.Service, request: Any) -> typing.Coroutine' in result.stdout
    errors = [line for line in result.stdout.splitlines() if ": error:" in line]
    assert errors == [], result.stdout
