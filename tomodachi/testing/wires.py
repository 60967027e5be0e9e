"""Which wires a test's services run on: in-memory fakes (default) or real RabbitMQ + a moto server.

Selected with ``pytest --tomodachi-wire=real`` or ``TOMODACHI_TEST_WIRE=real``. On real wires the services
use the real brokers (RabbitMQ from the AMQP options, SNS+SQS at a moto server the plugin starts unless
``TOMODACHI_TEST_MOTO_URL`` points at one) and the real clock; per-test name prefixes keep tests apart.
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
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

WIRE_ENV = "TOMODACHI_TEST_WIRE"
MOTO_URL_ENV = "TOMODACHI_TEST_MOTO_URL"
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
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def reset_moto(moto_url: str) -> None:
    """Forget every topic, queue and message of the moto server (a fresh AWS account for each test)."""
    request = urllib.request.Request(f"{moto_url}/moto-api/reset", method="POST", data=b"")
    with urllib.request.urlopen(request, timeout=10):
        pass


# queues left behind by a test expire once unused for this long (RabbitMQ x-expires)
TEST_QUEUE_TTL = 120


def real_wire_options(moto_url: str, prefix: str) -> dict[str, Any]:
    """Options every service gets on real wires: moto endpoints and fake credentials.

    Tests are kept apart without changing what they can assert on: moto is reset before each test, and
    RabbitMQ queue names get a per-test ``prefix`` (prepended to the service's own queue prefix by the
    harness), so a test never consumes another test's leftovers. Routing keys and topics are unchanged.
    """
    return {
        "aws_endpoint_urls.sns": moto_url,
        "aws_endpoint_urls.sqs": moto_url,
        "aws_endpoint_urls.sts": moto_url,
        "aws_sns_sqs.region_name": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        "aws_sns_sqs.aws_access_key_id": os.environ.get("AWS_ACCESS_KEY_ID", "testing"),
        "aws_sns_sqs.aws_secret_access_key": os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"),
        "amqp.queue_name_prefix": prefix,
        "amqp.queue_ttl": TEST_QUEUE_TTL,
    }


def new_test_prefix() -> str:
    return f"t{uuid.uuid4().hex[:10]}-"
