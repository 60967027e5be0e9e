"""`tomodachi run --brokers memory` as a process: a reload keeps the in-memory queues, exit codes are the usual."""

from __future__ import annotations

import re
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

# v1 takes the job and never finishes it; the reload cancels it, the job goes back to the in-memory queue (which
# outlives the restart) and v2 takes it again
KEEPER = """
import asyncio
import pathlib
import tomodachi
from tomodachi.envelope import JsonBase

VERSION = "{version}"

class Keeper(tomodachi.Service):
    name = "keeper"
    message_envelope = JsonBase
    options = tomodachi.Options(http={{"termination_grace_period_seconds": 2}})

    async def _started_service(self):
        if VERSION == "v1":
            await tomodachi.amqp_publish(self, "job-1", routing_key="jobs")

    @tomodachi.amqp("jobs", queue_name="jobs")
    async def work(self, data):
        with pathlib.Path("handled.log").open("a") as fh:
            fh.write(f"{{VERSION}}:{{data}}\\n")
        print(f"took {{VERSION}}:{{data}}", flush=True)
        if VERSION == "v1":
            await asyncio.Event().wait()
"""

EXITING = """
import tomodachi

class Exiting(tomodachi.Service):
    name = "exiting"

    async def _started_service(self):
        tomodachi.exit(3)
"""


def test_a_reload_keeps_the_messages_of_the_in_memory_queues(
    start_tomodachi: Callable[..., Any], write_file: Callable[[str, str], Path], tmp_path: Path
) -> None:
    service_file = write_file("keeper.py", KEEPER.format(version="v1"))
    process = start_tomodachi("run", "--brokers", "memory", "keeper.py")
    process.wait_for("in-memory message brokers for amqp and aws_sns_sqs: messages live in this process only")
    for pattern in (r"file watcher enabled.*tomodachi\.watcher", "took v1:job-1"):  # in either order
        if not re.search(pattern, process.text):
            process.wait_for(pattern)
    service_file.write_text(KEEPER.format(version="v2"))
    process.wait_for("restarting services", timeout=10)
    process.wait_for("took v2:job-1", timeout=15)
    process.signal(signal.SIGTERM)
    assert process.wait_exit(timeout=20) == 0
    assert (tmp_path / "handled.log").read_text().split() == ["v1:job-1", "v2:job-1"]


def test_tomodachi_exit_code_is_the_process_exit_code_with_in_memory_brokers(
    run_tomodachi: Callable[..., Any], write_file: Callable[[str, str], Path]
) -> None:
    write_file("exiting.py", EXITING)
    result = run_tomodachi("run", "--production", "--brokers", "amqp=memory", "exiting.py")
    assert result.returncode == 3, result.stderr
    assert "in-memory message brokers for amqp:" in result.stdout + result.stderr


def test_inspect_on_a_port_in_use_is_one_clear_line_and_exit_1(
    run_tomodachi: Callable[..., Any], write_file: Callable[[str, str], Path]
) -> None:
    import socket

    write_file("exiting.py", EXITING)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_tomodachi("run", "--production", "--brokers", "memory", "--inspect", str(port), "exiting.py")
    assert result.returncode == 1
    output = result.stdout + result.stderr
    assert re.search(rf"cannot serve --inspect on 127\.0\.0\.1:{port}: .*address already in use", output.lower())
    assert "Traceback" not in output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "exiting.py", "--topology", "missing/flows.md"], "the folder 'missing' does not exist"),
        (["run", "exiting.py", "--topology", "."], "it is a directory"),
        (["topology", "exiting.py", "-o", "missing/flows.md"], "the folder 'missing' does not exist"),
        (["help", "topolgy"], "no help for unknown command 'topolgy': did you mean 'topology'?"),
    ],
)
def test_where_a_diagram_cannot_be_written_is_said_before_anything_runs(
    run_tomodachi: Callable[..., Any], write_file: Callable[[str, str], Path], args: list[str], message: str
) -> None:
    write_file("exiting.py", EXITING)
    result = run_tomodachi(*args)
    assert result.returncode == 2
    assert message in result.stderr
