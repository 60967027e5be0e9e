import hashlib

from tomodachi.messaging.amqp.naming import (
    decode_routing_key,
    encode_routing_key,
    prefixed_routing_key,
    queue_name,
)


def test_safe_characters_pass_through() -> None:
    key = "a.b-c_d*#,;:<>!\"%&/()[]{}\\=?'^~+|@$ `"
    assert encode_routing_key(key) == key


def test_unsafe_characters_become_hex() -> None:
    assert encode_routing_key("smörgås.é") == "sm___c3b6_rg___c3a5_s.___c3a9_"
    assert decode_routing_key(encode_routing_key("ö.🎉.x")) == "ö.🎉.x"


def test_queue_names_match_upstream() -> None:
    uuid = "4d6a4b1a-0000-4000-8000-000000000000"
    expected = hashlib.sha256(("order.*" + "on_order" + uuid).encode()).hexdigest()
    assert queue_name("order.*", "on_order", uuid, competing=False) == expected
    assert queue_name("order.*", "on_order", uuid, competing=True) == hashlib.sha256(b"order.*").hexdigest()
    assert queue_name("ö", "f", uuid, competing=True, prefix="p-") == "p-" + hashlib.sha256(b"___c3b6_").hexdigest()
    assert queue_name("x", "f", uuid, competing=True, explicit_name="jobs", prefix="p-") == "p-jobs"


def test_prefixed_routing_key_is_encoded_after_prefixing() -> None:
    assert prefixed_routing_key("ö", "env.") == "env.___c3b6_"
    assert prefixed_routing_key("a.b", None) == "a.b"
