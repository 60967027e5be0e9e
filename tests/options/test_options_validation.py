"""Options: unknown keys, wrong types and ranges give errors naming the key; legacy key mapping."""

from __future__ import annotations

import pytest

from tomodachi.options import InvalidOptionError, Options, OptionsError, UnknownOptionError, parse_size


@pytest.mark.parametrize(
    ("make", "key", "suggestion"),
    [
        (lambda: Options(**{"http.prot": 80}), "http.prot", "http.port"),
        (lambda: Options(http={"prot": 80}), "http.prot", "http.port"),
        (lambda: Options.HTTP(prot=80), "http.prot", "http.port"),
        (lambda: Options(htp={"port": 80}), "htp", "http"),
        (
            lambda: Options(amqp={"qos": {"queue_prefetch": 1}}),
            "amqp.qos.queue_prefetch",
            "amqp.qos.queue_prefetch_count",
        ),
        (lambda: Options(**{"totally_unrelated_thing": 1}), "totally_unrelated_thing", None),
        (lambda: Options().http.prot, "http.prot", "http.port"),
        (lambda: Options()["amqp.hostname"], "amqp.hostname", "amqp.host"),
        (lambda: Options().merged({"watcher": {"ignore_dirs": []}}), "watcher.ignore_dirs", "watcher.ignored_dirs"),
    ],
)
def test_unknown_keys_raise_attribute_error_naming_the_key(make, key: str, suggestion: str | None) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(AttributeError) as info:
        make()
    error = info.value
    assert isinstance(error, UnknownOptionError) and isinstance(error, OptionsError) and isinstance(error, ValueError)
    assert error.key == key
    assert repr(key) in str(error)
    assert error.suggestion == suggestion
    if suggestion:
        assert f"did you mean {suggestion!r}" in str(error)


def test_unknown_attribute_assignment_is_rejected() -> None:
    opts = Options()
    with pytest.raises(UnknownOptionError, match="http.prot"):
        opts.http.prot = 1
    assert not hasattr(opts.http, "prot")
    assert getattr(opts, "nope", "fallback") == "fallback"


@pytest.mark.parametrize(
    ("key", "value", "allowed"),
    [
        ("http.port", 70000, "from 0 to 65535"),
        ("amqp.port", -1, "from 0 to 65535"),
        ("amqp.heartbeat", -5, "from 0 to 65535"),
        ("amqp.queue_ttl", -1, "at least 0"),
        ("amqp.qos.queue_prefetch_count", 70000, "from 0 to 65535"),
        ("http.termination_grace_period_seconds", -1.5, "at least 0"),
        ("http.keepalive_timeout", -1, "at least 0"),
        ("aws_sns_sqs.sqs_kms_data_key_reuse_period", 5, "from 60 to 86400"),
    ],
)
def test_numbers_out_of_range_name_the_key_and_the_range(key: str, value: float, allowed: str) -> None:
    with pytest.raises(InvalidOptionError, match=f"invalid value for option '{key}': {value!r} is not {allowed}"):
        Options(**{key: value})


@pytest.mark.parametrize(
    ("overrides", "key", "expected"),
    [
        ({"http.port": "80"}, "http.port", "int or None"),
        ({"http.port": True}, "http.port", "int or None"),
        ({"http.host": 1}, "http.host", "str or None"),
        ({"http.reuse_port": "yes"}, "http.reuse_port", "bool"),
        ({"http.access_log": 1}, "http.access_log", "bool or str"),
        ({"http.termination_grace_period_seconds": None}, "http.termination_grace_period_seconds", "int or float"),
        ({"http.real_ip_from": [1]}, "http.real_ip_from", "list of str"),
        ({"amqp.ssl": 1}, "amqp.ssl", "bool"),
        ({"amqp.qos.global_prefetch_count": 1.5}, "amqp.qos.global_prefetch_count", "int"),
        ({"watcher.ignored_dirs": {"a": 1}}, "watcher.ignored_dirs", "list of str"),
        ({"http": 5}, "http", "a mapping or Options.HTTP"),
        ({"aws": "eu-west-1"}, "aws", "a mapping"),
    ],
)
def test_wrong_types_name_the_key_and_the_expected_type(overrides: dict[str, object], key: str, expected: str) -> None:
    with pytest.raises(InvalidOptionError) as info:
        Options(**overrides)
    assert isinstance(info.value, TypeError) and isinstance(info.value, ValueError)
    assert info.value.key == key
    assert repr(key) in str(info.value) and f"expected {expected}" in str(info.value)


def test_legacy_key_errors_mention_the_spelling_used() -> None:
    with pytest.raises(InvalidOptionError, match=r"'aws_sns_sqs\.region_name' \(given as 'aws\.region_name'\)"):
        Options(aws={"region_name": 5})


def test_section_of_the_wrong_kind_is_rejected() -> None:
    with pytest.raises(InvalidOptionError, match="Options.AMQP"):
        Options(http=Options.AMQP())  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "size"),
    [
        (1024, 1024),
        ("1024", 1024),
        ("2K", 2048),
        ("2kb", 2048),
        ("100M", 104857600),
        ("1 MB", 1048576),
        ("1G", 1 << 30),
    ],
)
def test_client_max_size_accepts_ints_and_suffixed_strings(value: int | str, size: int) -> None:
    assert Options(http={"client_max_size": value}).http.client_max_size == size


@pytest.mark.parametrize("value", [1023, "1023B", "2G", (1 << 30) + 1, "10X", "M", 1.5, True, None])
def test_client_max_size_rejects_bad_or_out_of_range_values(value: object) -> None:
    with pytest.raises(InvalidOptionError, match=r"'http\.client_max_size'"):
        Options(http={"client_max_size": value})


def test_parse_size() -> None:
    assert parse_size("64K") == 65536
    with pytest.raises(ValueError):
        parse_size("sixty")


def test_failed_update_changes_nothing() -> None:
    opts = Options(http={"port": 80})
    with pytest.raises(InvalidOptionError):
        opts.update({"http.host": "h", "amqp.port": "nope"})
    assert opts.http.host == "0.0.0.0" and opts.amqp.port == 5672 and opts.http.port == 80


# --- legacy keys ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("legacy", "expected"),
    [
        ({"aws": {"region_name": "r"}}, {"aws_sns_sqs.region_name": "r"}),
        ({"aws": {"aws_region_name": "r"}}, {"aws_sns_sqs.region_name": "r"}),
        (
            {"aws.access_key_id": "a", "aws.secret_access_key": "s"},
            {"aws_sns_sqs.aws_access_key_id": "a", "aws_sns_sqs.aws_secret_access_key": "s"},
        ),
        (
            {"aws": {"aws_access_key_id": "a", "aws_secret_access_key": "s"}},
            {"aws_sns_sqs.aws_access_key_id": "a", "aws_sns_sqs.aws_secret_access_key": "s"},
        ),
        (
            {"aws": {"topic_prefix": "t-", "queue_name_prefix": "q-"}},
            {"aws_sns_sqs.topic_prefix": "t-", "aws_sns_sqs.queue_name_prefix": "q-"},
        ),
        (
            {"aws": {"queue_policy": "p", "wildcard_queue_policy": "w"}},
            {"aws_sns_sqs.queue_policy": "p", "aws_sns_sqs.wildcard_queue_policy": "w"},
        ),
        (
            {"aws": {"endpoint_url": "u"}},
            {"aws_endpoint_urls.sns": "u", "aws_endpoint_urls.sqs": "u", "aws_endpoint_urls.sts": "u"},
        ),
        (
            {"aws": {"aws_endpoint_url": "u", "sqs_endpoint_url": "q"}},
            {"aws_endpoint_urls.sns": "u", "aws_endpoint_urls.sqs": "q", "aws_endpoint_urls.sts": "u"},
        ),
        (
            {"aws": {"sqs_endpoint_url": "q", "aws_endpoint_url": "u"}},
            {"aws_endpoint_urls.sqs": "q", "aws_endpoint_urls.sns": "u"},
        ),
        ({"aws": {"endpoint_urls": {"sns": "s"}}}, {"aws_endpoint_urls.sns": "s", "aws_endpoint_urls.sqs": None}),
        (
            {"aws.endpoint_urls.sts": "t", "aws.aws_sns_endpoint_url": "s"},
            {"aws_endpoint_urls.sts": "t", "aws_endpoint_urls.sns": "s"},
        ),
        (
            {"aws": {"kms_master_key_id": "k"}},
            {"aws_sns_sqs.sns_kms_master_key_id": "k", "aws_sns_sqs.sqs_kms_master_key_id": "k"},
        ),
        (
            {"aws": {"aws_kms_master_key_id": "k", "sns_kms_master_key_id": "n"}},
            {"aws_sns_sqs.sns_kms_master_key_id": "n", "aws_sns_sqs.sqs_kms_master_key_id": "k"},
        ),
        ({"aws": {"aws_sqs_kms_master_key_id": "q"}}, {"aws_sns_sqs.sqs_kms_master_key_id": "q"}),
        ({"aws": {"kms_data_key_reuse_period": 60}}, {"aws_sns_sqs.sqs_kms_data_key_reuse_period": 60}),
        ({"aws": {"aws_kms_data_key_reuse_period": 60}}, {"aws_sns_sqs.sqs_kms_data_key_reuse_period": 60}),
        ({"aws": {"aws_sqs_kms_data_key_reuse_period": 60}}, {"aws_sns_sqs.sqs_kms_data_key_reuse_period": 60}),
        (
            {"aws_sns_sqs": {"aws_region_name": "r", "endpoint_url": "u"}},
            {"aws_sns_sqs.region_name": "r", "aws_endpoint_urls.sqs": "u"},
        ),
        (
            {"aws_sns_sqs": {"kms_master_key_id": "k", "kms_data_key_reuse_period": 300}},
            {"aws_sns_sqs.sqs_kms_master_key_id": "k", "aws_sns_sqs.sqs_kms_data_key_reuse_period": 300},
        ),
        ({"http": {"max_buffer_size": "2M"}}, {"http.client_max_size": 2097152}),
        ({"http": {"max_upload_size": 4096}}, {"http.client_max_size": 4096}),
        ({"http": {"max_upload_size": 4096, "client_max_size": 8192}}, {"http.client_max_size": 8192}),
        ({"http": {"keepalive_expiry": 5}}, {"http.keepalive_timeout": 5}),
        ({"http": {"keepalive_expiry": 5, "keepalive_timeout": 0}}, {"http.keepalive_timeout": 5}),
        ({"http": {"keepalive_expiry": 5, "keepalive_timeout": 3}}, {"http.keepalive_timeout": 3}),
    ],
)
def test_legacy_keys_map_to_their_sections(legacy: dict[str, object], expected: dict[str, object]) -> None:
    flat = Options(**legacy).asdict()
    assert {key: flat[key] for key in expected} == expected


def test_legacy_keys_are_readable_and_assignable() -> None:
    opts = Options()
    opts.http.max_buffer_size = "1M"
    assert opts.http.client_max_size == 1048576 and opts.http.max_upload_size == 1048576
    opts["aws.region_name"] = "eu-north-1"
    assert opts.aws_sns_sqs.region_name == "eu-north-1" and opts["aws.aws_region_name"] == "eu-north-1"
    opts.aws_sns_sqs.aws_region_name = "us-east-1"
    assert opts.aws_sns_sqs.region_name == "us-east-1"


def test_legacy_keys_crossing_sections_inside_a_standalone_section_apply_when_attached() -> None:
    section = Options.AWSSNSSQS(endpoint_url="http://localhost:4566", region_name="eu-west-1")
    opts = Options(aws_sns_sqs=section)
    assert opts.aws_endpoint_urls.sns == "http://localhost:4566"
    assert opts.aws_sns_sqs.region_name == "eu-west-1"
    with pytest.raises(InvalidOptionError, match="outside the 'aws_sns_sqs' section"):
        opts.aws_sns_sqs.endpoint_url = "x"
    # ... but the same key is fine on the Options object
    opts["aws_sns_sqs.endpoint_url"] = "http://other"
    assert opts.aws_endpoint_urls.sts == "http://other"
