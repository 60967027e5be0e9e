"""What the typed seams give a user's code under ``mypy --strict``: ``@tomodachi.decorator`` keeps the handler's
signature, the harness names each bus's broker and fake, and section mappings are accepted as options."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

USER_CODE = """
from typing import Any

import tomodachi
from tomodachi.testing.harness import ServiceHarness


@tomodachi.decorator
async def require_token(self: Any, request: Any) -> Any:
    return None


@tomodachi.decorator(include_function=True)
async def logged(func: Any, self: Any, request: Any) -> Any:
    return None


class Service(tomodachi.Service):
    name = "typed"
    options = tomodachi.Options(http={"port": 8080}, amqp={"host": "rabbit"})

    @tomodachi.http("GET", r"/")
    @require_token
    @logged
    async def index(self, request: Any) -> str:
        return "x"


async def buses(harness: ServiceHarness) -> None:
    reveal_type(harness.memory_broker("amqp"))
    reveal_type(harness.memory_broker("aws_sns_sqs"))
    reveal_type(harness.fake("amqp"))
    reveal_type(harness.fake("aws_sns_sqs"))
    await harness.fake("amqp").send("queue", {})  # error: SQS only


reveal_type(Service.index)
"""


@pytest.fixture(scope="module")
def mypy_output(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    path = tmp_path_factory.mktemp("seams") / "user_code.py"
    path.write_text(textwrap.dedent(USER_CODE))
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--follow-imports=silent", str(path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    return result.stdout.splitlines()


def revealed(lines: list[str]) -> list[str]:
    return [line.split("Revealed type is ", 1)[1].strip('"') for line in lines if "Revealed type is" in line]


def test_a_handler_under_tomodachi_decorator_keeps_its_signature(mypy_output: list[str]) -> None:
    assert revealed(mypy_output)[-1] == (
        "def (self: user_code.Service, request: Any) -> typing.Coroutine[Any, Any, str]"
    ), mypy_output


def test_the_harness_names_the_broker_and_the_fake_of_each_bus(mypy_output: list[str]) -> None:
    assert revealed(mypy_output)[:4] == [
        "tomodachi.messaging.amqp.memory.MemoryAmqpBroker",
        "tomodachi.messaging.sns_sqs.memory.MemorySnsSqsBroker",
        "tomodachi.testing.fakes.protocols.FakeAmqp",
        "tomodachi.testing.fakes.protocols.FakeSnsSqs",
    ], mypy_output


def test_only_the_misuse_is_a_type_error(mypy_output: list[str]) -> None:
    errors = [line for line in mypy_output if ": error:" in line]

    assert len(errors) == 1, mypy_output
    assert '"FakeAmqp" has no attribute "send"' in errors[0]
    assert Path(errors[0].split(":", 1)[0]).name == "user_code.py"
