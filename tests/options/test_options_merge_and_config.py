"""Options.merged (config options merge key by key over class options) and JSON config-file loading."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tomodachi.options import ConfigError, Options, load_config_files, merge_config_value, merge_dicts


def test_merged_applies_overrides_key_by_key_and_leaves_the_original_alone() -> None:
    class_options = Options(http={"port": 80, "host": "127.0.0.1"}, amqp={"login": "svc"})
    result = class_options.merged({"http": {"port": 8080}, "amqp.qos.queue_prefetch_count": 3})
    assert result is not class_options
    assert (result.http.port, result.http.host, result.amqp.login) == (8080, "127.0.0.1", "svc")
    assert result.amqp.qos.queue_prefetch_count == 3
    assert class_options.http.port == 80 and class_options.amqp.qos.queue_prefetch_count == 100


def test_merged_accepts_legacy_keys() -> None:
    base = Options(aws_sns_sqs={"region_name": "eu-west-1", "topic_prefix": "dev-"})
    result = base.merged({"aws": {"endpoint_url": "http://localhost:4566"}, "http": {"max_buffer_size": "5M"}})
    assert result.aws_sns_sqs.region_name == "eu-west-1" and result.aws_sns_sqs.topic_prefix == "dev-"
    assert result.aws_endpoint_urls.sqs == "http://localhost:4566"
    assert result.http.client_max_size == 5 * 1024 * 1024


def test_merged_replaces_lists_of_an_option() -> None:
    # A config file naming an option sets it; list options are values, not accumulators.
    base = Options(watcher={"ignored_dirs": ["a"]})
    assert base.merged({"watcher": {"ignored_dirs": ["b"]}}).watcher.ignored_dirs == ["b"]


def test_merged_result_is_independent() -> None:
    base = Options(http={"real_ip_from": ["10.0.0.0/8"]})
    result = base.merged({})
    result.http.real_ip_from.append("x")
    assert base.http.real_ip_from == ["10.0.0.0/8"]


def test_section_merged_uses_relative_keys() -> None:
    http = Options.HTTP(port=80).merged({"host": "h"})
    assert isinstance(http, Options.HTTP) and (http.port, http.host) == (80, "h")


def test_update_in_place_keeps_section_references_live() -> None:
    opts = Options()
    http = opts.http
    opts.update({"http.port": 1234})
    assert http.port == 1234 and opts.http is http


def test_merged_with_invalid_key_raises_and_keeps_the_original() -> None:
    base = Options(http={"port": 80})
    with pytest.raises(AttributeError, match="http.portt"):
        base.merged({"http": {"portt": 81}})
    assert base.http.port == 80


def test_merge_config_value_rules() -> None:
    opts = Options(http={"port": 80})
    merged = merge_config_value(opts, {"http": {"host": "h"}})
    assert isinstance(merged, Options) and (merged.http.port, merged.http.host) == (80, "h")
    assert merge_config_value([1], [2]) == [1, 2]
    assert merge_config_value({"a": {"b": 1}}, {"a": {"c": 2}}) == {"a": {"b": 1, "c": 2}}
    assert merge_config_value("x", "y") == "y"
    assert merge_config_value([1], "y") == "y"


def test_merge_dicts_is_deep_and_does_not_mutate_inputs() -> None:
    base = {"a": {"list": [1], "x": 1}, "b": 1}
    overlay = {"a": {"list": [2], "y": 2}, "b": {"now": "dict"}}
    assert merge_dicts(base, overlay) == {"a": {"list": [1, 2], "x": 1, "y": 2}, "b": {"now": "dict"}}
    assert base == {"a": {"list": [1], "x": 1}, "b": 1}
    assert overlay == {"a": {"list": [2], "y": 2}, "b": {"now": "dict"}}


def _write(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_load_config_files_merges_in_order(tmp_path: Path) -> None:
    first = _write(tmp_path / "a.json", {"options": {"http": {"port": 80}}, "tags": ["a"], "name": "one"})
    second = _write(tmp_path / "b.json", {"options": {"http": {"host": "h"}}, "tags": ["b"], "name": "two"})
    config = load_config_files([first, str(second)])
    assert config == {"options": {"http": {"port": 80, "host": "h"}}, "tags": ["a", "b"], "name": "two"}
    assert Options().merged(config["options"]).http.port == 80
    assert load_config_files([]) == {}


def test_missing_config_file_names_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "missing.json"
    with pytest.raises(ConfigError, match="config file not found") as info:
        load_config_files([missing])
    assert info.value.path == str(missing) and str(missing) in str(info.value)


def test_invalid_json_names_the_file_line_and_column(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{\n  "options": {\n    "http": {"port": 80,}\n  }\n}\n', encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config_files([bad])
    message = str(info.value)
    assert str(bad) in message and "line 3" in message and "column" in message


@pytest.mark.parametrize("content", ["[1, 2]", '"text"', "null"])
def test_config_file_must_hold_an_object(tmp_path: Path, content: str) -> None:
    path = tmp_path / "list.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match="must contain a JSON object"):
        load_config_files([path])


def test_directory_and_undecodable_files_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="directory"):
        load_config_files([tmp_path])
    binary = tmp_path / "bin.json"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ConfigError, match="bin.json"):
        load_config_files([binary])
