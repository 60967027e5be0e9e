"""A stdlib record's ``extra=`` fields (third-party code logging through the stdlib) read as ``key=value`` on a
console line, never as a dict; JSON lines keep them as an ``"extra"`` object."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

import tomodachi.logging as tlog

SERVICE = """
    import logging

    import tomodachi


    class Service(tomodachi.Service):
        name = "extra-fields"

        async def _started_service(self) -> None:
            logging.getLogger("thirdparty.client").warning(
                "connection retried", extra={"peer": "10.0.0.7:5672", "attempt": 2, "note": "two words"}
            )
            tomodachi.exit()
"""


def _run(tmp_path: Path, *options: str) -> str:
    """``tomodachi run`` of a service whose third-party code logs with ``extra=``: its stderr."""
    service = tmp_path / "extra_fields_service.py"
    service.write_text(textwrap.dedent(SERVICE))
    env = {key: value for key, value in os.environ.items() if not key.startswith(("TOMODACHI_", "CLICOLOR"))}
    result = subprocess.run(
        [sys.executable, "-m", "tomodachi", "run", "--production", *options, str(service)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    return result.stderr


def test_tomodachi_run_shows_stdlib_extra_fields_as_key_value_pairs(tmp_path: Path) -> None:
    (line,) = [line for line in _run(tmp_path).splitlines() if "connection retried" in line]
    assert line.endswith("[thirdparty.client] peer=10.0.0.7:5672 attempt=2 note='two words'"), line
    assert "extra" not in line and "{" not in line


def test_tomodachi_run_with_json_keeps_them_as_an_extra_object(tmp_path: Path) -> None:
    lines = [json.loads(line) for line in _run(tmp_path, "--logger", "json").splitlines() if line.startswith("{")]
    (entry,) = [entry for entry in lines if entry["message"] == "connection retried"]
    assert entry["extra"] == {"peer": "10.0.0.7:5672", "attempt": 2, "note": "two words"}


@pytest.fixture
def console() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    level = root.level
    stream = io.StringIO()
    tlog.configure("info", "console", stream=stream)
    yield stream
    tlog.remove_handlers()
    root.setLevel(level)


def test_extra_fields_follow_the_message_in_their_order_and_drop_ellipsis(console: io.StringIO) -> None:
    logging.getLogger("lib").info("plain %s", "args", extra={"b": 1, "a": None, "hidden": ...})
    assert console.getvalue().rstrip("\n").endswith("[lib] b=1 a=None")


def test_an_extra_dict_given_to_a_structured_logger_is_shown_the_same_way(console: io.StringIO) -> None:
    tlog.get_logger("app").info("called like the stdlib", extra={"peer": "p"}, k=1)
    assert console.getvalue().rstrip("\n").endswith("[app] peer=p k=1")


def test_other_handlers_read_extra_fields_as_key_value_pairs_too() -> None:
    records: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    collector = Collect()
    logging.getLogger().addHandler(collector)
    try:
        tlog.get_logger("app").warning("mixed", extra={"peer": "p"}, k=1)
    finally:
        logging.getLogger().removeHandler(collector)
    assert records[0].getMessage() == "mixed peer=p k=1"
