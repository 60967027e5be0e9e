"""Topic and queue names equal upstream's derivation, with two deliberate fixes (dots encoded, not refused)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tomodachi.messaging.sns_sqs import naming

UUID = "0f3b4c2e-0000-4000-8000-000000000001"


def test_non_competing_queue_hash() -> None:
    name = naming.queue_name("order-created", "handle_order", UUID, competing=None)
    assert name == "0fadb5ba1a64ebd6e3a534f1a30de93f3a26665b2cd11e5fd944d5ed028afbbb"


def test_competing_queue_hash_only_topic_with_prefix_not_hashed() -> None:
    name = naming.queue_name("order-created", "ignored", UUID, competing=True, queue_name_prefix="dev-")
    assert name == "dev-a2f3d836c843f726e733201f2c8b3de13fac7b1bc4ec638563662f8125823e1c"


def test_fifo_queue_and_encoded_topic_hash() -> None:
    assert naming.queue_name("a.b", "handler", "U", competing=False, fifo=True) == (
        "5fbed03166668fd2ba7848b709a0a3f6c161355918fa34ee228e095c717ff40c.fifo"
    )
    assert naming.queue_name(None, "f", "u", competing=True) == (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )


@pytest.mark.parametrize(
    ("topic", "encoded"),
    [
        ("order-created", "order-created"),
        ("a.b", "a___2e_b"),
        ("a/b c", "a___2f_b___20_c"),
        ("å", "___c3a5_"),
        ("😀", "___f09f9880_"),
        ("events.*", "events___2e_*"),
        ("x.fifo", "x.fifo"),
        ("x.y.fifo", "x___2e_y.fifo"),
    ],
)
def test_encode_decode(topic: str, encoded: str) -> None:
    assert naming.encode_topic(topic) == encoded
    assert naming.decode_topic(encoded) == topic


@given(st.text(alphabet=st.characters(codec="utf-8", exclude_characters="_"), max_size=30))
def test_encoding_round_trips_and_is_valid(topic: str) -> None:
    encoded = naming.encode_topic(topic)
    assert naming.decode_topic(encoded) == topic
    assert set(encoded.removesuffix(".fifo")) <= set(
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-*#"
    )


@given(st.text(alphabet="abcXYZ019-_", min_size=1, max_size=60))
def test_previously_valid_topics_are_unchanged(topic: str) -> None:
    assert naming.sns_topic_name(topic) == topic
    assert naming.sns_topic_name(topic, "prefix-", fifo=True) == f"prefix-{topic}.fifo"


def test_sns_topic_name_prefix_fifo_and_validation() -> None:
    assert naming.sns_topic_name("a.b", "dev-") == "dev-a___2e_b"  # upstream raised here
    assert naming.sns_topic_name("orders.fifo", fifo=True) == "orders.fifo"
    assert naming.sns_topic_name("info", fifo=True) == "info.fifo"  # rstrip('.fifo') would have eaten 'info'
    with pytest.raises(ValueError, match="too long"):
        naming.sns_topic_name("x" * 257)
    with pytest.raises(ValueError, match="too long"):
        naming.sns_topic_name("." * 50)  # each '.' becomes 6 characters
    with pytest.raises(ValueError, match="empty"):
        naming.sns_topic_name("")
    assert naming.sns_topic_name("events.*") == "events___2e_*"  # wildcards skip validation


def test_handler_topic_from_arn() -> None:
    arn = "arn:aws:sns:eu-west-1:123456789012:dev-a___2e_b.fifo"
    assert naming.handler_topic(arn, "dev-") == "a.b.fifo"
    assert naming.handler_topic("", "dev-") == ""


def test_wildcard_matcher() -> None:
    star = naming.wildcard_matcher(naming.sns_topic_name("events.*"))
    assert star.fullmatch("events___2e_created")
    assert not star.fullmatch("events___2e_a___2e_b")
    hash_ = naming.wildcard_matcher(naming.sns_topic_name("events.#"))
    assert hash_.fullmatch("events___2e_a___2e_b")
    assert not hash_.fullmatch("other")


def test_explicit_queue_names() -> None:
    assert naming.resolve_queue_name("jobs", "dev-") == "dev-jobs"
    assert naming.resolve_queue_name("jobs.fifo", fifo=True) == "jobs.fifo"
    assert naming.resolve_queue_name("arn:aws:sqs:eu-west-1:1:existing", "dev-") == "existing"
    assert naming.resolve_queue_name("https://sqs.eu-west-1.amazonaws.com/1/q1", "dev-") == "q1"
    with pytest.raises(ValueError, match="must end with '.fifo'"):
        naming.resolve_queue_name("jobs", fifo=True)
    with pytest.raises(ValueError, match="must not end"):
        naming.resolve_queue_name("jobs.fifo", fifo=False)
    with pytest.raises(ValueError, match="alphanumeric"):
        naming.resolve_queue_name("a.b")
    with pytest.raises(ValueError, match="too long"):
        naming.resolve_queue_name("q" * 81)
