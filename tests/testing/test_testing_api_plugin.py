"""The pytest plugin in a user's suite (inner pytest runs): start-time warnings fail the test unless taken, sync
tests using the async fixtures fail clearly, and a plain install (no freezegun / pytest-asyncio) keeps pytest
working while the fixtures that need them name the ``testing`` extra."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

INNER_ARGS = ("-p", "no:cacheprovider", "-p", "no:hypothesispytest")
INNER_INI = "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"

# -- start-time warnings -------------------------------------------------------------------------------------------

WARNING_TESTS = """
import tomodachi
from tomodachi.envelope import JsonBase
from tomodachi.handler_check import HandlerSignatureWarning


class Misnamed(tomodachi.Service):
    name = "misnamed"
    message_envelope = JsonBase

    @tomodachi.amqp("order.created", queue_name="misnamed-orders")
    async def on_order(self, data, routing_keys):
        return None


async def test_warning_unnoticed(tomodachi_service):
    await tomodachi_service(Misnamed)


async def test_warning_taken(tomodachi_service):
    svc = await tomodachi_service(Misnamed)
    [warning] = svc.take_errors()
    assert isinstance(warning, HandlerSignatureWarning)
    assert "routing_keys" in str(warning)


async def test_warning_expected(tomodachi_service):
    svc = await tomodachi_service(Misnamed)
    svc.expect_errors(HandlerSignatureWarning)
"""


def test_a_start_time_signature_warning_fails_the_test_at_teardown_unless_taken(pytester: pytest.Pytester) -> None:
    pytester.makeini(INNER_INI)
    pytester.makepyfile(test_inner_warnings=WARNING_TESTS)

    result = pytester.runpytest(*INNER_ARGS)

    result.assert_outcomes(passed=3, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_warning_unnoticed*",
            "*UnnoticedErrors: 1 handler exception(s)*",
            "*misnamed.on_order: HandlerSignatureWarning:*parameter 'routing_keys'*",
        ]
    )
    result.stdout.no_fnmatch_line("*ERROR at teardown of test_warning_taken*")
    result.stdout.no_fnmatch_line("*ERROR at teardown of test_warning_expected*")


# -- sync tests ----------------------------------------------------------------------------------------------------

SYNC_TESTS = """
import pytest
from hypothesis import given, settings, strategies as st


def test_sync_service(tomodachi_service):
    assert tomodachi_service is not None


def test_sync_system(tomodachi_system):
    assert tomodachi_system is not None


def test_sync_fake(fake_amqp):
    assert fake_amqp is not None


@settings(max_examples=2, deadline=None)
@given(st.integers())
def test_sync_hypothesis(tomodachi_service, n):
    assert tomodachi_service is not None


def test_sync_clock_only(virtual_clock):
    assert virtual_clock.now().year == 2024


async def test_async_service(tomodachi_service):
    assert tomodachi_service is not None
"""


def test_a_sync_test_using_the_async_fixtures_fails_with_a_clear_message(pytester: pytest.Pytester) -> None:
    pytester.makeini(INNER_INI)
    pytester.makepyfile(test_inner_sync=SYNC_TESTS)

    result = pytester.runpytest("-p", "no:cacheprovider")

    result.assert_outcomes(passed=2, errors=4)
    for name in ("test_sync_service", "test_sync_system", "test_sync_fake", "test_sync_hypothesis"):
        result.stdout.fnmatch_lines(
            [f"*{name} is a sync test but uses the tomodachi fixtures*make it `async def`*"], consecutive=False
        )
    result.stdout.fnmatch_lines(["*tomodachi.testing.system(...)*"])
    result.stdout.no_fnmatch_line("*test_sync_clock_only is a sync test*")
    result.stdout.no_fnmatch_line("*test_async_service is a sync test*")


STRICT_UNMARKED_TESTS = """
import pytest
import tomodachi


class Quiet(tomodachi.Service):
    name = "quiet"


async def test_unmarked(tomodachi_service):
    await tomodachi_service(Quiet)


@pytest.mark.asyncio
async def test_marked(tomodachi_service):
    await tomodachi_service(Quiet)
"""


def test_an_async_test_that_strict_mode_leaves_unrun_fails_naming_the_setting(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nasyncio_mode = strict\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile(test_inner_strict_unmarked=STRICT_UNMARKED_TESTS)

    result = pytester.runpytest(*INNER_ARGS)

    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        ['*test_unmarked is an async test that pytest-asyncio does not run*asyncio_mode = "auto"*']
    )


MARKED_TESTS = """
import pytest
import tomodachi


class Quiet(tomodachi.Service):
    name = "quiet"


@pytest.mark.virtual_clock(start="2025-01-01T00:00:00Z")
async def test_marked_without_a_clock():
    pass


@pytest.mark.virtual_clock(start="2025-01-01T00:00:00Z")
async def test_marked_with_a_service(tomodachi_service):
    await tomodachi_service(Quiet)


@pytest.mark.virtual_clock(start="2025-01-01T00:00:00Z")
def test_marked_with_the_clock(virtual_clock):
    assert virtual_clock.now().year == 2025
"""


def test_a_virtual_clock_marker_on_a_test_that_runs_no_clock_is_a_warning(pytester: pytest.Pytester) -> None:
    pytester.makeini(INNER_INI)
    pytester.makepyfile(test_inner_marked=MARKED_TESTS)

    result = pytester.runpytest(*INNER_ARGS, "-W", "always::pytest.PytestWarning")

    result.assert_outcomes(passed=3, warnings=1)
    result.stdout.fnmatch_lines(["*test_marked_without_a_clock is marked virtual_clock but uses no fixture*"])
    result.stdout.no_fnmatch_line("*test_marked_with_a_service is marked*")
    result.stdout.no_fnmatch_line("*test_marked_with_the_clock is marked*")


# -- a plain install -----------------------------------------------------------------------------------------------

UNIMPORTABLE = 'raise ImportError("No module named {name!r} (made unimportable for this test)", name={name!r})\n'

PLAIN_TESTS = """
import datetime


def test_plain_sync():
    assert datetime.date(2024, 1, 1).isoweekday() == 1


def test_uses_the_clock(virtual_clock):
    raise AssertionError("virtual_clock must not be available without freezegun")


def test_uses_a_service(tomodachi_service):
    raise AssertionError("tomodachi_service must not be available without pytest-asyncio")
"""


def test_a_plain_install_keeps_pytest_working_and_names_the_testing_extra(tmp_path: Path) -> None:
    stubs = tmp_path / "stubs"
    stubs.mkdir()
    for module in ("freezegun", "pytest_asyncio"):
        (stubs / f"{module}.py").write_text(UNIMPORTABLE.format(name=module))
    project = tmp_path / "project"
    project.mkdir()
    (project / "test_plain.py").write_text(textwrap.dedent(PLAIN_TESTS))
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(stubs), os.environ.get("PYTHONPATH", "")]),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    check = subprocess.run(
        [sys.executable, "-c", "import freezegun"], env=environment, capture_output=True, text=True, timeout=60
    )
    assert check.returncode != 0 and "made unimportable" in check.stderr  # the stubs do hide the modules

    # pytest-asyncio's own plugin is not registered on a plain install: -p no:asyncio stands for its absence
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-v",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:asyncio",
            "-p",
            "no:hypothesispytest",
        ],
        cwd=project,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )

    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "test_plain.py::test_plain_sync PASSED" in output, output
    assert "test_plain.py::test_uses_the_clock ERROR" in output, output
    assert "test_plain.py::test_uses_a_service ERROR" in output, output
    assert "1 passed, 2 errors" in output, output
    extra = "install the testing extra: pip install 'tomodachi[testing]'"
    assert "the tomodachi fixtures need freezegun (No module named 'freezegun'" in output, output
    assert f"the tomodachi fixtures need pytest-asyncio: {extra}" in output, output
    assert output.count(extra) >= 2, output
    assert "must not be available" not in output
