"""Retry and dead-letter copies of an AMQP delivery: no property RabbitMQ would refuse, and a republish that
fails still counts as an attempt (bounded memory)."""

from __future__ import annotations

from tomodachi.messaging.amqp.descriptors import AmqpProperties
from tomodachi.messaging.amqp.republish import ORIGINAL_USER_ID_HEADER, FailedRepublishes, copy_properties


def test_a_copy_drops_user_id_and_expiration_and_keeps_the_user_as_a_header() -> None:
    original = AmqpProperties(user_id="other-user", expiration="60000", message_id="m-1", headers={"a": 1})
    copy = copy_properties(original, {"b": 2})
    assert (copy.user_id, copy.expiration, copy.message_id) == (None, None, "m-1")
    assert copy.headers == {"b": 2, ORIGINAL_USER_ID_HEADER: "other-user"}
    assert copy_properties(AmqpProperties(), {"b": 2}).headers == {"b": 2}


def test_failed_republishes_are_counted_per_message_and_forgotten_on_success() -> None:
    failed = FailedRepublishes()
    key = FailedRepublishes.key("orders", "m-1", b"{}")
    assert failed.count(key) == 0
    failed.add(key)
    failed.add(key)
    assert failed.count(key) == 2
    assert failed.count(FailedRepublishes.key("orders", None, b"{}")) == 0  # another message: the body's hash
    failed.forget(key)
    assert failed.count(key) == 0


def test_failed_republishes_remember_a_bounded_number_of_messages() -> None:
    failed = FailedRepublishes(limit=2)
    keys = [FailedRepublishes.key("q", f"m-{n}", b"") for n in range(3)]
    for key in keys:
        failed.add(key)
    assert [failed.count(key) for key in keys] == [0, 1, 1]  # the oldest forgotten first
