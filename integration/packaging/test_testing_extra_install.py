"""A fresh virtual environment with only ``pip install '.[testing]'`` runs a user's tests that use every fixture."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENABLE_ENV = "TOMODACHI_TEST_INSTALL"

pytestmark = pytest.mark.skipif(
    os.environ.get("CI", "").lower() != "true" and os.environ.get(ENABLE_ENV) != "1",
    reason=f"builds a virtual environment from the package index (about a minute): runs under CI=true or {ENABLE_ENV}=1",
)

USER_TESTS = """
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

import tomodachi
from tomodachi.envelope import JsonBase
from tomodachi.testing import FakeAmqp, FakeSnsSqs, ServiceFactory, ServiceHandle, TestSystem, VirtualClock


class Relay(tomodachi.Service):
    name = "relay"
    message_envelope = JsonBase

    def __init__(self) -> None:
        self.seen: list[Any] = []
        self.ticks = 0

    @tomodachi.aws_sns_sqs("order.placed")
    async def on_order(self, data: Any) -> None:
        await tomodachi.amqp_publish(self, data, routing_key="order.relayed")

    @tomodachi.amqp("order.relayed")
    async def on_relayed(self, data: Any) -> None:
        self.seen.append(data)

    @tomodachi.schedule(interval="1 hour")
    async def tick(self) -> None:
        self.ticks += 1


@pytest.fixture
def virtual_clock_start() -> datetime:
    return datetime(2030, 5, 1, tzinfo=timezone.utc)


async def test_every_fixture(
    tomodachi_service: ServiceFactory,
    tomodachi_system: TestSystem,
    virtual_clock: VirtualClock,
    fake_amqp: FakeAmqp,
    fake_sns_sqs: FakeSnsSqs,
) -> None:
    svc: ServiceHandle[Relay] = await tomodachi_service(Relay)
    assert datetime.now(timezone.utc) == datetime(2030, 5, 1, tzinfo=timezone.utc)
    await fake_sns_sqs.publish("order.placed", {"id": 1})
    await tomodachi_system.settle()
    assert svc.instance.seen == [{"id": 1}]
    assert [m.data for m in fake_amqp.published("order.relayed")] == [{"id": 1}]
    await virtual_clock.advance("1 hour")
    assert svc.instance.ticks == 1
    assert [c.data for c in svc.calls("on_relayed")] == [{"id": 1}]


@pytest.mark.virtual_clock(start="2031-01-01T00:00:00Z")
async def test_the_marker_and_a_system_outside_fixtures() -> None:
    async with tomodachi.testing.system(Relay, start="2031-01-01T00:00:00Z") as shop:
        await shop.fake_sns_sqs.publish("order.placed", {"id": 2})
        await shop.settle()
        relay: ServiceHandle[Any] = shop.service("relay")
        assert relay.instance.seen == [{"id": 2}]
"""


def _run(command: list[str], cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("PYTHON", "VIRTUAL_ENV"))}
    return subprocess.run(command, cwd=cwd, env=environment, capture_output=True, text=True, timeout=timeout)


def test_a_fresh_venv_with_the_testing_extra_runs_every_fixture(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = str(venv / "bin" / "python")
    install = _run([python, "-m", "pip", "install", "--quiet", f"{ROOT}[testing]"], tmp_path, 900)
    assert install.returncode == 0, install.stdout + install.stderr

    project = tmp_path / "project"
    project.mkdir()
    (project / "pytest.ini").write_text(
        "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"
    )
    (project / "test_user.py").write_text(textwrap.dedent(USER_TESTS))
    result = _run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider"], project, 300)
    assert result.returncode == 0 and "2 passed" in result.stdout, result.stdout + result.stderr
