"""AMQP settings: which services share one connection (the broker key), and the publisher confirms option."""

from __future__ import annotations

from typing import Any

from tomodachi.messaging.amqp.settings import AmqpSettings, get_broker
from tomodachi.runtime.environment import Environment


def settings(**amqp: Any) -> AmqpSettings:
    return AmqpSettings.from_options({"amqp": {"login": "orders", **amqp}})


def test_services_with_another_password_get_their_own_connection() -> None:
    environment = Environment(broker_factories={"amqp": lambda key, build_default: object()})
    first = get_broker(environment, settings(password="first-secret"))
    second = get_broker(environment, settings(password="second-secret"))
    same = get_broker(environment, settings(password="first-secret"))
    assert first is not second  # the second service's credentials are used, not silently the first's
    assert same is first


def test_the_broker_key_never_shows_the_password() -> None:
    key = settings(password="hunter2-secret").broker_key
    assert "hunter2-secret" not in repr(key)
    assert "hunter2-secret" not in repr(settings(password="hunter2-secret"))
    assert settings(password="a").broker_key != settings(password="b").broker_key


def test_publisher_confirms_default_on_and_can_be_turned_off() -> None:
    assert AmqpSettings.from_options(None).publisher_confirms is True
    assert settings(publisher_confirms=False).publisher_confirms is False
    # a service publishing without confirms does not share the connection of one publishing with them
    assert settings(publisher_confirms=False).broker_key != settings().broker_key
