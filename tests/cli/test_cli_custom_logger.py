"""``--logger custom`` / ``--custom-logger <module[.attr]>`` / ``TOMODACHI_CUSTOM_LOGGER``."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tomodachi.cli import UsageError, parse_run_arguments

Run = Callable[..., Any]
Write = Callable[[str, str], Path]


@pytest.fixture
def no_tomodachi_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("TOMODACHI_LOGGER", "TOMODACHI_CUSTOM_LOGGER"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


# -- parsing in-process ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        (["--custom-logger", "mylog.Logger"], {}, ("custom", "mylog.Logger")),
        (["--logger", "custom", "--custom-logger", "mylog"], {}, ("custom", "mylog")),
        ([], {"TOMODACHI_CUSTOM_LOGGER": "mylog"}, ("custom", "mylog")),
        ([], {"TOMODACHI_LOGGER": "custom", "TOMODACHI_CUSTOM_LOGGER": "mylog"}, ("custom", "mylog")),
        (["--custom-logger", "mylog"], {"TOMODACHI_CUSTOM_LOGGER": "mylog"}, ("custom", "mylog")),
        (["--custom-logger", "mylog"], {"TOMODACHI_LOGGER": "json"}, ("custom", "mylog")),  # the flag wins
        (["--logger", "json"], {"TOMODACHI_CUSTOM_LOGGER": "mylog"}, ("json", None)),  # the flag wins
        ([], {"TOMODACHI_LOGGER": "json"}, ("json", None)),
    ],
)
def test_custom_logger_choice(
    no_tomodachi_env: pytest.MonkeyPatch, args: list[str], env: dict[str, str], expected: tuple[str, str | None]
) -> None:
    for name, value in env.items():
        no_tomodachi_env.setenv(name, value)
    parsed = parse_run_arguments(["service.py", *args])
    assert (parsed.logger, parsed.custom_logger) == expected


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--logger", "custom"], {}, "--logger custom needs --custom-logger"),
        ([], {"TOMODACHI_LOGGER": "custom"}, "--logger custom needs --custom-logger"),
        (["--logger", "json", "--custom-logger", "mylog"], {}, "cannot be combined with --logger json"),
        (["--custom-logger", "a"], {"TOMODACHI_CUSTOM_LOGGER": "b"}, "differs from TOMODACHI_CUSTOM_LOGGER"),
        ([], {"TOMODACHI_LOGGER": "json", "TOMODACHI_CUSTOM_LOGGER": "b"}, "cannot be combined"),
        (["--custom-logger"], {}, "Missing value for --custom-logger option"),
    ],
)
def test_contradictions_are_usage_errors(
    no_tomodachi_env: pytest.MonkeyPatch, args: list[str], env: dict[str, str], message: str
) -> None:
    for name, value in env.items():
        no_tomodachi_env.setenv(name, value)
    with pytest.raises(UsageError, match=message):
        parse_run_arguments(["service.py", *args])


# -- end to end (subprocess, bounded) ---------------------------------------------------------------------------

SERVICE = """
import tomodachi

class Service(tomodachi.Service):
    name = "custom-logged"

    async def _started_service(self):
        tomodachi.get_logger("app").warning("hello from the service", answer=42)
        tomodachi.exit(0)
"""

# a class-kind custom logger next to the service file, writing one JSON line per call to stdout
CUSTOM_LOGGER = """
import json
import sys

class Logger:
    def __init__(self, context):
        self.name = context["logger"]

    def __getattr__(self, method):
        def log(message, **fields):
            fields.pop("exc_info", None)
            print(json.dumps({"logger": self.name, "method": method, "message": message, **fields}), flush=True)
        return log

value = 42
"""


def _lines(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


@pytest.mark.parametrize("how", ["flag", "env"])
def test_run_forwards_lifecycle_and_service_logs(run_tomodachi: Run, write_file: Write, how: str) -> None:
    write_file("service.py", SERVICE)
    write_file("mylog.py", CUSTOM_LOGGER)
    if how == "flag":
        result = run_tomodachi("run", "--production", "service.py", "--custom-logger", "mylog.Logger")
    else:
        result = run_tomodachi("run", "--production", "service.py", env={"TOMODACHI_CUSTOM_LOGGER": "mylog.Logger"})
    assert result.returncode == 0, result.stderr
    lines = _lines(result.stdout)
    assert {"logger": "tomodachi.lifecycle", "method": "info", "message": "started service successfully"}.items() <= (
        next(line for line in lines if line["message"] == "started service successfully").items()
    )
    service_line = next(line for line in lines if line["logger"] == "app")
    # as upstream, a custom logger is handed the record's time too: an ISO 8601 timestamp in UTC
    timestamp = service_line.pop("timestamp")
    assert datetime.fromisoformat(timestamp.replace("Z", "+00:00")).utcoffset() == timedelta(0)
    assert service_line == {"logger": "app", "method": "warning", "message": "hello from the service", "answer": 42}
    assert "started service successfully" not in result.stderr  # nothing rendered by tomodachi itself


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("no_such_module.logger", "cannot import custom logger 'no_such_module.logger': no module named"),
        ("mylog.missing", "module 'mylog' has no attribute 'missing'"),
        ("mylog.value", "invalid custom logger mylog.value: expected the logging module, a class"),
    ],
)
def test_bad_custom_logger_exits_2(run_tomodachi: Run, write_file: Write, path: str, message: str) -> None:
    write_file("service.py", SERVICE)
    write_file("mylog.py", CUSTOM_LOGGER)
    result = run_tomodachi("run", "--production", "service.py", "--custom-logger", path)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "hello from the service" not in result.stdout + result.stderr  # no service was started
