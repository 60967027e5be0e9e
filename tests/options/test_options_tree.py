"""Options: defaults, dotted access, attribute access, flattening, repr, copies and independence."""

from __future__ import annotations

import copy
import pickle
import sys

import pytest

import tomodachi
from tomodachi.options import Options, OptionsInterface

EXPECTED_DEFAULTS = {
    "http.port": 9700,
    "http.host": "0.0.0.0",
    "http.reuse_port": sys.platform.startswith("linux"),
    "http.content_type": "text/plain; charset=utf-8",
    "http.charset": "utf-8",
    "http.client_max_size": 104857600,
    "http.termination_grace_period_seconds": 30,
    "http.access_log": True,
    "http.real_ip_from": [],
    "http.real_ip_header": "X-Forwarded-For",
    "http.keepalive_timeout": 0,
    "http.max_keepalive_time": None,
    "http.max_keepalive_requests": None,
    "http.server_header": "tomodachi",
    "http.websocket_max_message_size": 4 * 1024 * 1024,
    "http.websocket_heartbeat": 30,
    "http.header_timeout": 30,
    "http.read_timeout": 60,
    "aws_sns_sqs.region_name": None,
    "aws_sns_sqs.aws_access_key_id": None,
    "aws_sns_sqs.aws_secret_access_key": None,
    "aws_sns_sqs.topic_prefix": "",
    "aws_sns_sqs.queue_name_prefix": "",
    "aws_sns_sqs.sns_kms_master_key_id": None,
    "aws_sns_sqs.sqs_kms_master_key_id": None,
    "aws_sns_sqs.sqs_kms_data_key_reuse_period": None,
    "aws_sns_sqs.queue_policy": None,
    "aws_sns_sqs.wildcard_queue_policy": None,
    "aws_endpoint_urls.sns": None,
    "aws_endpoint_urls.sqs": None,
    "aws_endpoint_urls.sts": None,
    "amqp.host": "127.0.0.1",
    "amqp.port": 5672,
    "amqp.login": "guest",
    "amqp.password": "guest",
    "amqp.exchange_name": "amq.topic",
    "amqp.routing_key_prefix": "",
    "amqp.queue_name_prefix": "",
    "amqp.virtualhost": "/",
    "amqp.ssl": False,
    "amqp.heartbeat": 60,
    "amqp.queue_ttl": 86400,
    "amqp.publisher_confirms": True,
    "amqp.qos.queue_prefetch_count": 100,
    "amqp.qos.global_prefetch_count": 400,
    "watcher.ignored_dirs": [],
    "watcher.watched_file_endings": [],
}


def test_every_default_matches_the_spec() -> None:
    assert Options().asdict() == EXPECTED_DEFAULTS


@pytest.mark.parametrize("key", sorted(EXPECTED_DEFAULTS))
def test_each_default_is_reachable_by_dotted_key_get_and_attribute(key: str) -> None:
    opts = Options()
    assert opts[key] == EXPECTED_DEFAULTS[key]
    assert opts.get(key, "missing") == EXPECTED_DEFAULTS[key]
    node: object = opts
    for part in key.split("."):
        node = getattr(node, part)
    assert node == EXPECTED_DEFAULTS[key]


def test_public_names_are_exported_lazily() -> None:
    assert tomodachi.Options is Options
    assert tomodachi.OptionsInterface is OptionsInterface
    assert isinstance(Options().http, OptionsInterface)


def test_dotted_keyword_arguments_and_sections_as_mappings_or_instances() -> None:
    opts = Options(
        http=Options.HTTP(port=80),
        amqp={"host": "rabbit", "qos": {"queue_prefetch_count": 5}},
        **{"aws_sns_sqs.region_name": "eu-west-1", "amqp.qos.global_prefetch_count": 7},
    )
    assert opts.http.port == 80
    assert opts.amqp.host == "rabbit"
    assert opts.amqp.qos.queue_prefetch_count == 5
    assert opts.amqp.qos.global_prefetch_count == 7
    assert opts["aws_sns_sqs.region_name"] == "eu-west-1"
    assert Options(amqp=Options.AMQP(qos=Options.AMQP.QOS(queue_prefetch_count=1))).amqp.qos.queue_prefetch_count == 1


def test_section_instance_passed_in_is_copied_not_shared() -> None:
    http = Options.HTTP(port=80)
    opts = Options(http=http)
    http.port = 81
    assert opts.http.port == 80


def test_constructors_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        Options({"http": {}})  # type: ignore[misc]
    with pytest.raises(TypeError):
        Options.HTTP(80)  # type: ignore[call-arg]


def test_get_returns_default_for_unknown_keys_and_subscript_returns_sections() -> None:
    opts = Options()
    assert opts.get("http.nope", 123) == 123
    assert opts.get("nope") is None
    assert opts["http"] is opts.http
    assert opts["amqp.qos"] is opts.amqp.qos
    assert opts.http["port"] == 9700
    assert opts.amqp["qos.queue_prefetch_count"] == 100
    assert "http.port" in opts and "http.nope" not in opts and 5 not in opts


def test_assignment_by_attribute_and_subscript_is_validated() -> None:
    opts = Options()
    opts.http.port = 81
    opts["amqp.qos.queue_prefetch_count"] = 9
    opts.amqp["port"] = 5673
    assert (opts.http.port, opts.amqp.qos.queue_prefetch_count, opts.amqp.port) == (81, 9, 5673)
    with pytest.raises(TypeError, match=r"'http\.port'.*int or None.*str"):
        opts.http.port = "80"
    assert opts.http.port == 81


def test_assigning_a_section_replaces_it() -> None:
    opts = Options(http={"port": 80, "host": "127.0.0.1"})
    opts.http = {"port": 81}  # type: ignore[assignment]
    assert (opts.http.port, opts.http.host) == (81, "0.0.0.0")
    opts["amqp"] = Options.AMQP(host="x")
    assert opts.amqp.host == "x"


def test_keys_are_public_names_only() -> None:
    assert Options().keys() == ["http", "aws_sns_sqs", "aws_endpoint_urls", "amqp", "watcher"]
    assert Options().amqp.keys()[-1] == "qos"
    assert not any(key.startswith("_") for key in Options().http.keys())
    assert list(Options()) == Options().keys()


def test_items_and_asdict_flatten_to_dotted_keys() -> None:
    opts = Options(**{"watcher.ignored_dirs": ["node_modules"]})
    assert ("watcher.ignored_dirs", ["node_modules"]) in opts.items()
    assert opts.amqp.asdict() == {k[5:]: v for k, v in EXPECTED_DEFAULTS.items() if k.startswith("amqp.")}
    # asdict hands out copies: mutating them leaves the options alone.
    opts.asdict()["watcher.ignored_dirs"].append("x")
    assert opts.watcher.ignored_dirs == ["node_modules"]


def test_repr_prints_a_tree() -> None:
    text = repr(Options(http={"port": 80}))
    assert text.startswith("Options(\n    http=Options.HTTP(\n        port=80,\n")
    assert "        qos=Options.AMQP.QOS(\n            queue_prefetch_count=100," in text
    assert text.endswith("\n)")


def test_instances_do_not_share_mutable_defaults() -> None:
    first, second = Options(), Options()
    first.watcher.ignored_dirs.append("build")
    first.http.real_ip_from.append("10.0.0.0/8")
    assert second.watcher.ignored_dirs == [] and second.http.real_ip_from == []
    assert Options().watcher.ignored_dirs == []


def test_copy_is_deep_and_equal() -> None:
    opts = Options(http={"port": 80, "real_ip_from": ["10.0.0.0/8"]})
    for clone in (opts.copy(), copy.copy(opts), copy.deepcopy(opts), pickle.loads(pickle.dumps(opts))):
        assert clone == opts and clone is not opts
        clone.http.real_ip_from.append("192.168.0.0/16")
        clone.http.port = 1
        assert opts.http.real_ip_from == ["10.0.0.0/8"] and opts.http.port == 80
    assert Options() != Options(http={"port": 1})


def test_optional_values_accept_none() -> None:
    opts = Options(http={"port": None, "max_keepalive_requests": None}, aws_endpoint_urls={"sns": None})
    assert opts.http.port is None
    opts.http.max_keepalive_time = 12.5
    opts.aws_sns_sqs.sqs_kms_master_key_id = False
    assert opts.http.max_keepalive_time == 12.5 and opts.aws_sns_sqs.sqs_kms_master_key_id is False


def test_access_log_accepts_bool_or_path() -> None:
    assert Options(http={"access_log": False}).http.access_log is False
    assert Options(http={"access_log": "/tmp/access.log"}).http.access_log == "/tmp/access.log"


def test_string_lists_accept_a_single_string_and_tuples() -> None:
    opts = Options(http={"real_ip_from": "10.0.0.0/8"}, watcher={"watched_file_endings": (".txt", ".md")})
    assert opts.http.real_ip_from == ["10.0.0.0/8"]
    assert opts.watcher.watched_file_endings == [".txt", ".md"]
