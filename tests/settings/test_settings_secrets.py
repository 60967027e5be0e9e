"""Secrets stay out of reprs and error messages (both end up in logs)."""

from __future__ import annotations

import pytest

import tomodachi
from tomodachi.messaging.amqp.settings import AmqpSettings
from tomodachi.messaging.sns_sqs.aws_client import AwsSettings
from tomodachi.options import InvalidOptionError

OPTIONS = tomodachi.Options(amqp={"password": "hunter2"}, aws_sns_sqs={"aws_secret_access_key": "SECRET-KEY-1"})


@pytest.mark.parametrize(
    "shown",
    [
        repr(OPTIONS),
        repr(OPTIONS.amqp),
        repr(AmqpSettings.from_options(OPTIONS)),
        repr(AwsSettings.from_options(OPTIONS)),
    ],
    ids=["options", "amqp-section", "amqp-settings", "aws-settings"],
)
def test_reprs_hide_the_password_and_the_secret_key(shown: str) -> None:
    assert "hunter2" not in shown and "SECRET-KEY-1" not in shown


def test_the_options_repr_still_says_a_secret_is_set() -> None:
    assert "password='***'" in repr(OPTIONS)
    assert "password='***'" not in repr(tomodachi.Options(amqp={"password": ""}))


def test_a_wrongly_typed_secret_is_not_echoed_in_the_error() -> None:
    with pytest.raises(InvalidOptionError) as info:
        tomodachi.Options(amqp={"password": 12345678})
    assert "12345678" not in str(info.value)
    assert str(info.value) == "invalid value for option 'amqp.password': expected str, got int (value hidden)"
