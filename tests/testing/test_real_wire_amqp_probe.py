"""The real-wire gate probes the RabbitMQ the services will use (``TOMODACHI_TEST_AMQP_HOST`` /
``TOMODACHI_TEST_AMQP_PORT``, which real wires hand to every service), not whatever answers on 127.0.0.1:5672."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from aws_recorder import recording_endpoint

from tomodachi.testing.wires import real_wire_options

INNER_INI = "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"
INNER_TEST = """
import os


async def test_on_real_wires(tomodachi_harness):
    options = tomodachi_harness.wire_options
    assert (options["amqp.host"], options["amqp.port"]) == (
        os.environ["TOMODACHI_TEST_AMQP_HOST"], int(os.environ["TOMODACHI_TEST_AMQP_PORT"])
    )
"""


def closed_port() -> int:
    """A port on 127.0.0.1 nobody listens on (bound once, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def listening_port() -> Iterator[int]:
    """A port on 127.0.0.1 that accepts connections (standing in for a RabbitMQ that answers)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield int(sock.getsockname()[1])


@pytest.fixture
def inner_run(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.setenv("TOMODACHI_TEST_WIRE", "real")
    monkeypatch.delenv("CI", raising=False)
    pytester.makeini(INNER_INI)
    pytester.makepyfile(test_inner=INNER_TEST)
    return pytester


def configure(monkeypatch: pytest.MonkeyPatch, port: int, moto_url: str) -> None:
    monkeypatch.setenv("TOMODACHI_TEST_AMQP_HOST", "127.0.0.1")
    monkeypatch.setenv("TOMODACHI_TEST_AMQP_PORT", str(port))
    monkeypatch.setenv("TOMODACHI_TEST_MOTO_URL", moto_url)


def test_an_unreachable_configured_rabbitmq_skips_naming_it(
    inner_run: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = closed_port()
    with recording_endpoint() as moto:
        configure(monkeypatch, port, moto.url)
        result = inner_run.runpytest("-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines([f"*RabbitMQ is not reachable on 127.0.0.1:{port}*"])


def test_an_unreachable_configured_rabbitmq_fails_on_ci_naming_it(
    inner_run: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = closed_port()
    with recording_endpoint() as moto:
        configure(monkeypatch, port, moto.url)
        monkeypatch.setenv("CI", "true")
        result = inner_run.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([f"*RabbitMQ is not reachable on 127.0.0.1:{port}*"])


def test_a_reachable_configured_rabbitmq_passes_the_gate_and_is_what_services_use(
    inner_run: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, listening_port: int
) -> None:
    with recording_endpoint() as moto:
        configure(monkeypatch, listening_port, moto.url)
        result = inner_run.runpytest()
    result.assert_outcomes(passed=1)


def test_without_configuration_services_keep_their_own_rabbitmq_options(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TOMODACHI_TEST_AMQP_HOST", raising=False)
    monkeypatch.delenv("TOMODACHI_TEST_AMQP_PORT", raising=False)
    options = real_wire_options("http://127.0.0.1:5000", "t-")
    assert "amqp.host" not in options and "amqp.port" not in options
