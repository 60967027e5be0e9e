"""Which wires a test's services run on: in-memory fakes (default) or real RabbitMQ + a moto server.

Selected with ``pytest --tomodachi-wire=real`` or ``TOMODACHI_TEST_WIRE=real``. On real wires the services
use the real brokers (RabbitMQ from the AMQP options, or at ``TOMODACHI_TEST_AMQP_HOST`` /
``TOMODACHI_TEST_AMQP_PORT`` when set; SNS+SQS at a moto server the plugin starts unless
``TOMODACHI_TEST_MOTO_URL`` points at one) and the real clock; per-test name prefixes keep tests apart.

The moto endpoint always gets dummy credentials: the AWS credentials of the environment running the tests are
never sent to it, wherever it is.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

WIRE_ENV = "TOMODACHI_TEST_WIRE"
MOTO_URL_ENV = "TOMODACHI_TEST_MOTO_URL"
AMQP_HOST_ENV = "TOMODACHI_TEST_AMQP_HOST"
AMQP_PORT_ENV = "TOMODACHI_TEST_AMQP_PORT"
# moto accepts any credentials; these are what every request to it is signed with
MOTO_ACCESS_KEY_ID = "testing"
MOTO_SECRET_ACCESS_KEY = "testing"
WIRES = ("fake", "real")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_http(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return  # it answered
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not answer within {timeout}s") from None
            time.sleep(0.1)  # an external process starting up: nothing to await


@contextmanager
def moto_server(port: int | None = None, timeout: float = 30.0) -> Iterator[str]:
    """Run ``moto_server`` on 127.0.0.1 for the duration of the block; yields its URL."""
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_http(f"{url}/moto-api/", timeout)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def amqp_reachable(host: str = "127.0.0.1", port: int = 5672, timeout: float = 2.0) -> bool:
    return amqp_unreachable_reason(host, port, timeout) is None


def amqp_unreachable_reason(host: str, port: int, timeout: float = 2.0) -> str | None:
    """``None`` when something accepts a connection on ``host:port``, else why not (naming ``host:port``)."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except OSError as exc:
        return f"RabbitMQ is not reachable on {host}:{port} ({exc})"


def amqp_target(wire_options: Mapping[str, Any]) -> tuple[str, int]:
    """The RabbitMQ host and port services on real wires use: the wire options' (``TOMODACHI_TEST_AMQP_HOST`` /
    ``_PORT``), else the AMQP options' defaults."""
    from tomodachi.options import Options

    defaults = Options().amqp
    host = wire_options.get("amqp.host", defaults.host)
    port = wire_options.get("amqp.port", defaults.port)
    return str(host), int(port)


def real_wire_amqp_options() -> dict[str, object]:
    """``amqp.host`` / ``amqp.port`` from ``TOMODACHI_TEST_AMQP_HOST`` / ``_PORT`` (only those set)."""
    options: dict[str, object] = {}
    if os.environ.get(AMQP_HOST_ENV):
        options["amqp.host"] = os.environ[AMQP_HOST_ENV]
    if os.environ.get(AMQP_PORT_ENV):
        try:
            options["amqp.port"] = int(os.environ[AMQP_PORT_ENV])
        except ValueError:
            raise ValueError(f"{AMQP_PORT_ENV} must be a port number, not {os.environ[AMQP_PORT_ENV]!r}") from None
    return options


def reset_moto(moto_url: str) -> None:
    """Forget every topic, queue and message of the moto server (a fresh AWS account for each test)."""
    request = urllib.request.Request(f"{moto_url}/moto-api/reset", method="POST", data=b"")
    with urllib.request.urlopen(request, timeout=10):
        pass


# queues left behind by a test expire once unused for this long (RabbitMQ x-expires)
TEST_QUEUE_TTL = 120


def real_wire_options(moto_url: str, prefix: str) -> dict[str, object]:
    """Options every service gets on real wires: moto endpoints with dummy credentials, and the RabbitMQ host
    and port when ``TOMODACHI_TEST_AMQP_HOST`` / ``_PORT`` set them.

    The credentials are never the environment's: the moto URL is configurable and may be anyone's, and an
    explicit key pair also keeps botocore from adding a session token found in the environment.
    Tests are kept apart without changing what they can assert on: moto is reset before each test, and
    RabbitMQ queue names get a per-test ``prefix`` (prepended to the service's own queue prefix by the
    harness), so a test never consumes another test's leftovers. Routing keys and topics are unchanged.
    """
    return {
        "aws_endpoint_urls.sns": moto_url,
        "aws_endpoint_urls.sqs": moto_url,
        "aws_endpoint_urls.sts": moto_url,
        "aws_sns_sqs.region_name": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        "aws_sns_sqs.aws_access_key_id": MOTO_ACCESS_KEY_ID,
        "aws_sns_sqs.aws_secret_access_key": MOTO_SECRET_ACCESS_KEY,
        **real_wire_amqp_options(),
        "amqp.queue_name_prefix": prefix,
        "amqp.queue_ttl": TEST_QUEUE_TTL,
    }


def new_test_prefix() -> str:
    return f"t{uuid.uuid4().hex[:10]}-"
