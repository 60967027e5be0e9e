"""A freeze skips infrastructure and standard-library modules, never a module whose name merely starts like one."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from datetime import datetime

import pytest

from tomodachi.testing.clock import VirtualClock
from tomodachi.testing.freeze_scope import ignored_modules


@pytest.fixture
def lookalike_module() -> Iterator[types.ModuleType]:
    """A third-party-looking module named like a standard one ("json" → "jsonlookalike") that imported
    ``datetime`` by name, as user code often does."""
    module = types.ModuleType("jsonlookalike")
    exec("from datetime import datetime\ndef now():\n    return datetime.now()\n", module.__dict__)
    sys.modules[module.__name__] = module
    yield module
    del sys.modules[module.__name__]


def test_standard_library_modules_are_skipped_and_user_modules_are_not(lookalike_module: types.ModuleType) -> None:
    prefixes = ignored_modules()
    assert "json." in prefixes and "asyncio." in prefixes
    assert "json" not in prefixes  # "jsonlookalike" starts with it
    assert not lookalike_module.__name__.startswith(prefixes)
    assert not __name__.startswith(prefixes)


def test_a_module_named_like_a_standard_one_still_reads_virtual_time(lookalike_module: types.ModuleType) -> None:
    with VirtualClock(start=datetime(2001, 2, 3, 4, 5, 6)):
        assert lookalike_module.now().year == 2001


def test_a_module_imported_while_frozen_reads_real_time_again_after_the_freeze() -> None:
    module = types.ModuleType("imported_while_frozen")
    with VirtualClock(start=datetime(2001, 2, 3, 4, 5, 6)):
        sys.modules[module.__name__] = module
        exec("from datetime import datetime\nfrom time import time\n", module.__dict__)
        assert module.datetime.now().year == 2001
        assert module.time() < datetime(2002, 1, 1).timestamp()
    try:
        assert module.datetime is datetime
        assert module.datetime.now().year >= 2024
        assert module.time() > datetime(2024, 1, 1).timestamp()
    finally:
        del sys.modules[module.__name__]


def test_a_virtual_clock_inside_a_users_own_freeze_leaves_that_freeze_in_place(
    lookalike_module: types.ModuleType,
) -> None:
    from freezegun import freeze_time

    with freeze_time("1999-12-31 23:59:59"):
        with VirtualClock(start=datetime(2001, 2, 3, 4, 5, 6)):
            assert lookalike_module.now().year == 2001
        assert lookalike_module.now().year == 1999
    assert lookalike_module.now().year >= 2024


def test_a_reference_added_to_a_module_between_freezes_is_faked_too(lookalike_module: types.ModuleType) -> None:
    with VirtualClock(start=datetime(2001, 2, 3, 4, 5, 6)):
        assert lookalike_module.now().year == 2001
    exec("from time import time as wall_time\n", lookalike_module.__dict__)
    with VirtualClock(start=datetime(2001, 2, 3, 4, 5, 6)):
        assert lookalike_module.wall_time() < datetime(2002, 1, 1).timestamp()
    assert lookalike_module.wall_time() > datetime(2024, 1, 1).timestamp()


def test_a_module_replaced_by_another_of_the_same_name_and_size_is_patched_afresh() -> None:
    name = "replaced_between_freezes"
    first = types.ModuleType(name)
    exec("stamp = None\n", first.__dict__)
    sys.modules[name] = first
    try:
        with VirtualClock(start=datetime(2001, 2, 3, 4, 5, 6)):
            pass
        second = types.ModuleType(name)
        exec("from datetime import datetime as stamp\n", second.__dict__)
        assert len(second.__dict__) == len(first.__dict__)
        sys.modules[name] = second
        del first
        with VirtualClock(start=datetime(2001, 2, 3, 4, 5, 6)):
            assert second.stamp.now().year == 2001
    finally:
        del sys.modules[name]


async def test_time_time_reads_the_virtual_clock_and_a_users_nested_freeze_inside_it() -> None:
    import time

    from freezegun import freeze_time

    clock = VirtualClock(start=datetime(2001, 2, 3, 4, 5, 6))
    with clock:
        await clock.advance(0.25)
        assert time.time() == clock.time() == datetime(2001, 2, 3, 4, 5, 6, 250000).timestamp()
        with freeze_time("1999-12-31 23:59:59"):
            assert time.time() == 946684799.0
        assert time.time() == clock.time()
    assert time.time() > datetime(2024, 1, 1).timestamp()
