"""Upstream's embedding interface: ServiceContainer(module), started_waiter, run_until_complete, ServiceLauncher."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import tomodachi
from tomodachi.container import ServiceContainer
from tomodachi.importer import ServiceImporter
from tomodachi.launcher import ServiceLauncher

WITHIN = 10.0

SCHEDULED_SERVICE = """
import tomodachi

class Ticker(tomodachi.Service):
    name = "ticker"
    options = tomodachi.Options(http=tomodachi.Options.HTTP(port=None))
    stopped = False
    ticks = 0

    @tomodachi.http("GET", r"/ping")
    async def ping(self, request):
        return "pong"

    async def _stop_service(self):
        type(self).stopped = True
"""

EXITING_SERVICE = """
import tomodachi

class Exiting(tomodachi.Service):
    name = "exiting"

    @tomodachi.schedule(interval=3600, immediately=True)
    async def tick(self):
        pass

    async def _started_service(self):
        tomodachi.exit(7)
"""

FAILING_SERVICE = """
import tomodachi

class Failing(tomodachi.Service):
    name = "failing"

    @tomodachi.schedule(interval=3600)
    async def tick(self):
        pass

    async def _start_service(self):
        raise RuntimeError("cannot start")
"""


@pytest.fixture(autouse=True)
def _restore_exit_code() -> Iterator[None]:
    yield
    tomodachi.SERVICE_EXIT_CODE = tomodachi.DEFAULT_SERVICE_EXIT_CODE
    ServiceLauncher.stop_services_post_hook = None
    ServiceLauncher.stop_services_pre_hook = None


def _container(tmp_path: Path, name: str, source: str) -> ServiceContainer:
    path = tmp_path / name
    path.write_text(source)
    return ServiceContainer(ServiceImporter.import_service_file(str(path)))


async def _started(container: ServiceContainer) -> tuple[asyncio.Task[None], dict[str, Any]]:
    running = asyncio.create_task(container.run_until_complete())
    container.started_waiter = asyncio.get_running_loop().create_future()
    await asyncio.wait_for(asyncio.shield(container.started_waiter), WITHIN)
    return running, {name: instance for name, instance, _level in container.started_waiter.result()}


async def test_a_module_container_starts_its_services_and_stops_on_request(tmp_path: Path) -> None:
    container = _container(tmp_path, "ticker_service.py", SCHEDULED_SERVICE)
    running, services = await _started(container)
    instance = services["ticker"]
    port = instance.context["_http_port"]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert (await asyncio.wait_for(reader.read(), WITHIN)).endswith(b"pong")
    writer.close()

    container.stop_service()
    await asyncio.wait_for(running, WITHIN)
    assert type(instance).stopped is True


async def test_tomodachi_exit_stops_the_container_and_runs_the_launcher_hooks(tmp_path: Path) -> None:
    container = _container(tmp_path, "exiting_service.py", EXITING_SERVICE)
    hooked = asyncio.Event()

    async def post_hook() -> None:
        hooked.set()

    async def run_and_read_exit_code() -> Any:
        # as upstream's helper: the exit code is read from the context of the task that ran the container
        await container.run_until_complete()
        return tomodachi.context("exit_code")

    ServiceLauncher.stop_services_post_hook = post_hook
    exit_code = await asyncio.wait_for(run_and_read_exit_code(), WITHIN)
    assert hooked.is_set()
    assert tomodachi.SERVICE_EXIT_CODE == 7
    assert exit_code == 7


async def test_a_service_that_fails_to_start_ends_the_run_with_exit_code_1(tmp_path: Path) -> None:
    container = _container(tmp_path, "failing_service.py", FAILING_SERVICE)
    running = asyncio.create_task(container.run_until_complete())
    await asyncio.wait_for(running, WITHIN)
    assert container.started_waiter is not None
    # the instance that was created is still reported (upstream's helpers read it to inspect the failure)
    assert [(name, type(instance).__name__, level) for name, instance, level in container.started_waiter.result()] == [
        ("failing", "Failing", "INFO")
    ]
    assert tomodachi.SERVICE_EXIT_CODE == 1


INIT_FAILING_SERVICE = """
import tomodachi

class InitFailing(tomodachi.Service):
    name = "init-failing"

    def __init__(self):
        raise RuntimeError("cannot initialize")

    async def _start_service(self):
        pass
"""


async def test_a_service_that_cannot_be_instantiated_is_not_reported_as_started(tmp_path: Path) -> None:
    container = _container(tmp_path, "init_failing_service.py", INIT_FAILING_SERVICE)
    await asyncio.wait_for(container.run_until_complete(), WITHIN)
    assert container.started_waiter is not None and container.started_waiter.result() == set()
    assert tomodachi.SERVICE_EXIT_CODE == 1


async def test_a_module_without_a_service_class_ends_the_run_with_exit_code_1(tmp_path: Path) -> None:
    container = _container(tmp_path, "empty_module.py", "VALUE = 1\n")
    await asyncio.wait_for(container.run_until_complete(), WITHIN)
    assert container.started_waiter is not None and container.started_waiter.result() == set()
    assert tomodachi.SERVICE_EXIT_CODE == 1


def test_tomodachi_exit_outside_any_loop_exits_the_process() -> None:
    with pytest.raises(SystemExit) as exited:
        tomodachi.exit(3)
    assert exited.value.code == 3
