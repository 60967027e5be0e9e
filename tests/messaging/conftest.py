"""Fixtures for the messaging tests: a virtual clock and an AMQP rig on it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from amqp_rig import Rig

from tomodachi.testing.clock import VirtualClock


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(freeze_wall_clock=False)


@pytest_asyncio.fixture
async def rig(clock: VirtualClock) -> AsyncIterator[Rig]:
    rig = Rig(clock)
    try:
        yield rig
    finally:
        await rig.stop()
