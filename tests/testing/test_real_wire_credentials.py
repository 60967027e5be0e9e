"""On real wires the services and the test's fakes talk to the moto endpoint with dummy credentials: the AWS
credentials of the environment running the tests are never sent to it (the endpoint is configurable and may be
anyone's)."""

from __future__ import annotations

import time

import pytest
from aws_recorder import recording_endpoint

from tomodachi.runtime.clock import RealClock
from tomodachi.testing.harness import ServiceHarness
from tomodachi.testing.wires import new_test_prefix, real_wire_options

REAL_KEY_ID = "AKIAREALKEYOFTHEUSER"
REAL_SECRET = "real-secret-of-the-user-0123456789abcdef"
REAL_TOKEN = "real-session-token-of-the-user"


@pytest.fixture
def real_credentials_in_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", REAL_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", REAL_SECRET)
    monkeypatch.setenv("AWS_SESSION_TOKEN", REAL_TOKEN)
    monkeypatch.setenv("AWS_SECURITY_TOKEN", REAL_TOKEN)


@pytest.mark.usefixtures("real_credentials_in_environment")
def test_real_wire_options_carry_dummy_credentials_whatever_the_environment_holds() -> None:
    options = real_wire_options("http://127.0.0.1:5000", "t-")
    assert options["aws_sns_sqs.aws_access_key_id"] == "testing"
    assert options["aws_sns_sqs.aws_secret_access_key"] == "testing"
    assert not {REAL_KEY_ID, REAL_SECRET, REAL_TOKEN} & {str(value) for value in options.values()}


@pytest.mark.usefixtures("real_credentials_in_environment")
async def test_requests_to_the_moto_endpoint_are_signed_with_dummy_credentials() -> None:
    with recording_endpoint() as endpoint:
        harness = ServiceHarness(
            RealClock(), wire="real", wire_options=real_wire_options(endpoint.url, new_test_prefix())
        )
        fake = harness.fake("aws_sns_sqs")
        started = time.monotonic()
        try:
            with pytest.raises(Exception, match="InvalidParameter"):
                await fake.publish("orders", {"id": 1})  # as a service publishes: the real broker
            with pytest.raises(Exception, match="InvalidParameter"):
                fake.topics()  # the fake's own look at moto (boto3)
        finally:
            await harness.stop_all()
        assert time.monotonic() - started < 30  # refused at once: nothing retried against the endpoint
    requests = endpoint.aws_requests()
    assert len(requests) >= 2
    for headers in requests:
        assert "Credential=testing/" in headers["Authorization"]
        assert not any(secret in value for value in headers.values() for secret in (REAL_KEY_ID, REAL_TOKEN))
        assert "X-Amz-Security-Token" not in headers
