"""tomodachi.exit() under the harness stops the test's services instead of raising SystemExit."""

from __future__ import annotations

from typing import Any

from testing_support import Quitter

import tomodachi


async def test_exit_in_a_handler_stops_the_services_instead_of_raising_system_exit(tomodachi_service: Any) -> None:
    svc = await tomodachi_service(Quitter)
    await svc.container.transports["delivering"].deliver("quit")
    await svc.container.stopped.wait()
    assert svc.instance.stopped
    assert tomodachi.SERVICE_EXIT_CODE == 3


async def test_exit_handler_and_exit_code_are_restored_at_teardown(virtual_clock: Any) -> None:
    from tomodachi.runtime import context as execution_context
    from tomodachi.testing.harness import ServiceHarness

    before = (execution_context._exit_handler, tomodachi.SERVICE_EXIT_CODE)
    harness = ServiceHarness(virtual_clock)
    svc = await harness.start(Quitter)
    tomodachi.exit(5)
    await svc.container.stopped.wait()
    await harness.stop_all()
    assert (execution_context._exit_handler, tomodachi.SERVICE_EXIT_CODE) == before
