"""What a log line may never do: drive the terminal with control characters from logged data, or carry the
request bodies, key ids and signatures botocore writes at DEBUG."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

import tomodachi.logging as tlog


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    wire_levels = {name: logging.getLogger(name).level for name in tlog.WIRE_LOGGERS}
    yield
    tlog.remove_handlers()
    root.setLevel(level)
    for handler in handlers:
        if handler not in root.handlers:
            root.addHandler(handler)
    for name, wire_level in wire_levels.items():
        logging.getLogger(name).setLevel(wire_level)


def test_console_lines_show_control_characters_escaped() -> None:
    stream = io.StringIO()
    tlog.configure("info", "no_color_console", stream=stream)
    tlog.get_logger("tomodachi.http.response").info("request \x1b[31mred", request_path="/a\x1b[2J\x07b")
    line = stream.getvalue()
    assert "\x1b" not in line and "\x07" not in line
    assert "request \\x1b[31mred" in line
    assert "request_path=/a\\x1b[2J\\x07b" in line


def test_debug_logging_keeps_botocore_at_info_unless_asked() -> None:
    for name in tlog.WIRE_LOGGERS:
        logging.getLogger(name).setLevel(logging.NOTSET)
    tlog.configure("debug", "no_color_console", stream=io.StringIO())
    assert logging.getLogger().level == logging.DEBUG
    assert logging.getLogger("botocore").getEffectiveLevel() == logging.INFO
    assert not logging.getLogger("botocore").isEnabledFor(logging.DEBUG)


def test_a_level_the_user_set_on_botocore_is_kept() -> None:
    logging.getLogger("botocore").setLevel(logging.DEBUG)
    tlog.configure("debug", "no_color_console", stream=io.StringIO())
    assert logging.getLogger("botocore").level == logging.DEBUG
