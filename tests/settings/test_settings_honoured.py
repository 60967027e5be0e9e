"""Settings that were silently ignored are honoured or named: config sections at the wrong level, watcher
options on the service class, a hidden Server header, a grace period below the minimum."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import tomodachi
from tomodachi.runtime.container import ServiceContainer, apply_config
from tomodachi.runtime.environment import Environment
from tomodachi.runtime.launcher import Launcher
from tomodachi.runtime.reload import source_filter
from tomodachi.settings_check import SettingWarning, config_errors
from tomodachi.testing import ServiceFactory


class Plain(tomodachi.Service):
    name = "plain"


def test_an_options_section_at_the_top_of_a_config_is_refused_with_where_it_belongs() -> None:
    assert config_errors({"http": {"port": 8080}, "uuid": "fixed"}) == [
        'config key \'http\' is an options section: put it under "options" ({"options": {"http": …}})'
    ]
    with pytest.raises(ValueError, match="config key 'amqp' is an options section"):
        apply_config(Plain(), {"amqp": {"host": "rabbit"}})


def test_a_mistyped_options_key_at_the_top_of_a_config_is_refused_with_the_right_name() -> None:
    assert config_errors({"optoins": {"http": {"port": 1}}}) == [
        "config key 'optoins' would only set an attribute on the services (did you mean 'options'?)"
    ]


def test_other_top_level_config_keys_still_set_attributes_as_upstream() -> None:
    instance = Plain()
    apply_config(instance, {"uuid": "fixed", "greeting": "hej"})
    assert (instance.uuid, instance.greeting) == ("fixed", "hej")  # type: ignore[attr-defined]


def test_a_mistyped_option_in_a_config_file_is_a_usage_error_before_anything_starts(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"options": {"http": {"prot": 8080}}}))
    result = subprocess.run(
        [sys.executable, "-m", "tomodachi", "run", "service.py", "-c", str(config)],
        capture_output=True, text=True, cwd=tmp_path, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert "unknown option 'http.prot'; did you mean 'http.port'?" in result.stderr


def _launcher_with(*watcher_sections: dict[str, Any]) -> Launcher:
    launcher = Launcher([])
    launcher.containers = [
        SimpleNamespace(instance=SimpleNamespace(options=tomodachi.Options(watcher=section)))  # type: ignore[misc]
        for section in watcher_sections
    ]
    return launcher


def test_watcher_options_of_the_service_class_reach_the_reloader() -> None:
    accepts = source_filter(_launcher_with({"watched_file_endings": [".j2"], "ignored_dirs": ["vendor"]}), {})
    assert accepts(None, "/app/templates/mail.j2")
    assert not accepts(None, "/app/vendor/lib.py")
    assert accepts(None, "/app/service.py")  # the defaults stay


def test_a_single_string_watcher_option_is_one_entry_not_its_characters() -> None:
    accepts = source_filter(_launcher_with(), {"watched_file_endings": ".j2", "ignored_dirs": "build"})
    assert accepts(None, "/app/mail.j2")
    assert not accepts(None, "/app/notes.2")  # ".j2" read letter by letter would take any name ending in 2
    assert not accepts(None, "/app/build/gen.py")


def test_an_invalid_watcher_option_is_refused() -> None:
    with pytest.raises(ValueError, match="watcher.ignored_dirs"):
        source_filter(_launcher_with(), {"ignored_dirs": 3})


class Hidden(tomodachi.Service):
    name = "hidden"
    options = tomodachi.Options(http={"server_header": None})

    @tomodachi.http("GET", r"/")
    async def index(self) -> str:
        return "ok"


async def test_server_header_none_hides_the_server_software(tomodachi_service: ServiceFactory) -> None:
    svc = await tomodachi_service(Hidden)
    async with svc.http.get("/") as response:
        assert response.status == 200
        assert response.headers.get("Server", "") == ""


class Hasty(tomodachi.Service):
    name = "hasty"
    options = tomodachi.Options(http={"termination_grace_period_seconds": 0})


def test_a_grace_period_below_the_minimum_is_named_and_raised_to_it() -> None:
    container = ServiceContainer(Hasty, Environment())
    container.instantiate()
    with pytest.warns(SettingWarning, match=r"termination_grace_period_seconds=0 is below the minimum of 2 s"):
        assert container.grace_period() == 2.0
    container.forget()
