"""A config file's nested key changes that key only: the sibling keys of the class's own values stay."""

from __future__ import annotations

from typing import Any

import tomodachi
from tomodachi.runtime.container import ServiceContainer, apply_config
from tomodachi.runtime.environment import Environment


class Configured(tomodachi.Service):
    name = "configured"
    options = tomodachi.Options(aws_sns_sqs={"region_name": "eu-west-1", "topic_prefix": "orders-"})
    database: dict[str, Any] = {"primary": {"host": "db.internal", "port": 5432}, "pool": 4}


def test_a_nested_key_from_a_config_file_keeps_the_sibling_keys_of_the_class_values() -> None:
    config = {
        "options": {"aws_sns_sqs": {"region_name": "us-east-1"}},
        "database": {"primary": {"port": 6543}},
    }
    container = ServiceContainer(Configured, Environment(), config=config)
    container.instantiate()
    instance = container.instance
    try:
        assert instance.options.aws_sns_sqs.region_name == "us-east-1"
        assert instance.options.aws_sns_sqs.topic_prefix == "orders-"
        assert instance.database == {"primary": {"host": "db.internal", "port": 6543}, "pool": 4}
        # the class's own values are not changed by one instance's config
        assert Configured.database == {"primary": {"host": "db.internal", "port": 5432}, "pool": 4}
    finally:
        container.forget()


def test_apply_config_merges_a_nested_dict_with_the_attribute_it_finds() -> None:
    class Plain:
        limits = {"http": {"rate": 10, "burst": 20}}

    instance = Plain()
    apply_config(instance, {"limits": {"http": {"burst": 50}}})
    assert instance.limits == {"http": {"rate": 10, "burst": 50}}
