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
    message = ("orders", "m-1", b"{}")
    assert failed.count(*message) == 0
    failed.add(*message)
    failed.add(*message)
    assert failed.count(*message) == 2
    assert failed.count("orders", None, b"{}") == 0  # another message: known by the body's hash
    failed.forget(*message)
    assert failed.count(*message) == 0


def test_failed_republishes_remember_a_bounded_number_of_messages() -> None:
    failed = FailedRepublishes(limit=2)
    messages = [("q", f"m-{n}", b"") for n in range(3)]
    for message in messages:
        failed.add(*message)
    assert [failed.count(*message) for message in messages] == [0, 1, 1]  # the oldest forgotten first


NAMES = ("x-tomodachi-attempt", "x-tomodachi-routing-key", "x-tomodachi-exchange")


def _signed_headers(key: bytes, attempt: int = 2) -> dict[str, object]:
    from tomodachi.messaging.amqp.republish import SIGNATURE_HEADER, bookkeeping_signature

    return {
        NAMES[0]: attempt,
        NAMES[1]: "orders.public",
        NAMES[2]: "amq.topic",
        SIGNATURE_HEADER: bookkeeping_signature(key, "orders", attempt, "orders.public", "amq.topic", b"{}"),
    }


def test_only_our_own_signature_makes_bookkeeping_headers_trusted() -> None:
    from tomodachi.messaging.amqp.republish import signed_by_us, signing_key

    ours = signing_key("guest", "guest", "/")
    headers = _signed_headers(ours)
    assert signed_by_us(headers, ours, "orders", b"{}", NAMES)
    assert not signed_by_us({**headers, NAMES[0]: 99}, ours, "orders", b"{}", NAMES)  # a forged attempt count
    assert not signed_by_us({**headers, NAMES[1]: "orders.admin"}, ours, "orders", b"{}", NAMES)
    assert not signed_by_us(headers, ours, "other-queue", b"{}", NAMES)  # a copy replayed onto another queue
    assert not signed_by_us(headers, ours, "orders", b'{"x": 1}', NAMES)  # another body
    assert not signed_by_us(headers, signing_key("other", "secret", "/"), "orders", b"{}", NAMES)
    assert not signed_by_us({NAMES[0]: 2}, ours, "orders", b"{}", NAMES)  # unsigned
