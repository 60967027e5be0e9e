"""``tomodachi.helpers.aws_credentials.Credentials``: one value from keywords, dicts or credential objects."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from botocore.credentials import Credentials as BotocoreCredentials

from tomodachi.helpers.aws_credentials import Credentials

KEYS = ["region_name", "aws_access_key_id", "aws_secret_access_key", "aws_session_token", "endpoint_url"]


def test_credentials_read_like_attributes_and_like_a_mapping() -> None:
    credentials = Credentials(region_name="eu-west-1", aws_access_key_id="id", aws_secret_access_key="s3cr3t")
    assert list(credentials) == KEYS and list(credentials.keys()) == KEYS
    assert (
        credentials.dict()
        == dict(credentials.items())
        == {
            "region_name": "eu-west-1",
            "aws_access_key_id": "id",
            "aws_secret_access_key": "s3cr3t",
            "aws_session_token": None,
            "endpoint_url": None,
        }
    )
    assert credentials["region_name"] == credentials.region_name == "eu-west-1"
    assert credentials.get("endpoint_url", "fallback") == "fallback"
    assert "aws_session_token" in credentials and "other" not in credentials
    assert Credentials(credentials).dict() == Credentials(credentials.dict()).dict() == credentials.dict()
    assert "s3cr3t" not in repr(credentials)


def test_unknown_names_are_refused() -> None:
    credentials = Credentials(region_name="eu-west-1")
    with pytest.raises(AttributeError):
        credentials["other"]
    with pytest.raises(AttributeError):
        credentials.other  # type: ignore[attr-defined]  # noqa: B018
    with pytest.raises(TypeError, match="other"):
        Credentials(region_name="eu-west-1", other="x")


def test_credentials_come_from_botocore_or_any_object_with_keywords_on_top() -> None:
    botocore = Credentials(BotocoreCredentials("id", "secret", "token"), region_name="eu-north-1")
    assert (botocore.aws_access_key_id, botocore.aws_secret_access_key, botocore.aws_session_token) == (
        "id",
        "secret",
        "token",
    )
    assert botocore.region_name == "eu-north-1"

    @dataclass
    class Own:
        region_name: str = "us-east-1"
        endpoint_url: str = "http://127.0.0.1:4566"

    own = Credentials(Own())
    assert (own.region_name, own.endpoint_url, own.aws_access_key_id) == ("us-east-1", "http://127.0.0.1:4566", None)
