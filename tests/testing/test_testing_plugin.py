"""The pytest plugin seen from a user's test suite (inner pytest runs): teardown failures, strict mode."""

from __future__ import annotations

import pytest

# hypothesis' terminal summary costs seconds per inner run and is irrelevant here
INNER_ARGS = (
    "-p",
    "no:cacheprovider",
    "-p",
    "no:hypothesispytest",
    "-o",
    "asyncio_default_fixture_loop_scope=function",
)

# An inner test suite's support module: a tiny transport that reports handler errors like the real ones.
SUPPORT = """
import pytest
import tomodachi
from tomodachi.handlers import invoker
from tomodachi.runtime.transport import TRANSPORT_FACTORIES


@invoker("inner")
def inner(topic="t"):
    return {"topic": topic}


class InnerTransport:
    last = None

    def __init__(self, context):
        self.context = context
        InnerTransport.last = self

    async def setup(self):
        pass

    async def start(self):
        pass

    async def stop(self, grace_period):
        pass

    async def deliver(self, *args):
        for handler in self.context.handlers:
            try:
                await handler.func(*args)
            except Exception as exc:
                self.context.environment.report_error(exc, f"{self.context.service.name}.{handler.name}")


@pytest.fixture(autouse=True)
def inner_transport(monkeypatch):
    monkeypatch.setitem(TRANSPORT_FACTORIES, "inner", "inner_support:InnerTransport")
    return InnerTransport


class Failing(tomodachi.Service):
    name = "failing"

    @inner()
    async def handle(self, value):
        raise ValueError(f"bad value {value}")
"""

AUTO_TESTS = """
from inner_support import Failing, InnerTransport, inner_transport


async def test_unnoticed(tomodachi_service):
    await tomodachi_service(Failing)
    await InnerTransport.last.deliver(1)


async def test_taken(tomodachi_service):
    svc = await tomodachi_service(Failing)
    await InnerTransport.last.deliver(2)
    assert [str(e) for e in svc.take_errors()] == ["bad value 2"]


async def test_expected(tomodachi_service):
    svc = await tomodachi_service(Failing)
    svc.expect_errors(ValueError)
    await InnerTransport.last.deliver(3)


async def test_expected_other_type(tomodachi_service):
    svc = await tomodachi_service(Failing)
    svc.expect_errors(KeyError)
    await InnerTransport.last.deliver(4)
"""


def test_unnoticed_handler_error_fails_the_test_at_teardown(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(inner_support=SUPPORT, test_inner_auto=AUTO_TESTS)
    result = pytester.runpytest(*INNER_ARGS, "-o", "asyncio_mode=auto")
    result.assert_outcomes(passed=4, errors=2)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_unnoticed*",
            "*failing.handle: ValueError: bad value 1*",
            "*ERROR at teardown of test_expected_other_type*",
            "*failing.handle: ValueError: bad value 4*",
        ]
    )
    result.stdout.no_fnmatch_line("*bad value 2*")
    result.stdout.no_fnmatch_line("*bad value 3*")


STRICT_TESTS = """
import asyncio
from datetime import datetime, timedelta, timezone

import pytest

from inner_support import Failing, InnerTransport, inner_transport


@pytest.mark.asyncio
async def test_strict_service(tomodachi_service, virtual_clock):
    svc = await tomodachi_service(Failing)
    assert svc.instance.name == "failing"
    assert asyncio.get_running_loop() is not None
    before = datetime.now(timezone.utc)
    await virtual_clock.advance(timedelta(hours=2))
    assert datetime.now(timezone.utc) - before == timedelta(hours=2)
    await InnerTransport.last.deliver(5)
    assert len(svc.take_errors()) == 1


@pytest.mark.asyncio
async def test_strict_unnoticed(tomodachi_service):
    await tomodachi_service(Failing)
    await InnerTransport.last.deliver(6)
"""


def test_fixtures_work_in_pytest_asyncio_strict_mode(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(inner_support=SUPPORT, test_inner_strict=STRICT_TESTS)
    result = pytester.runpytest(*INNER_ARGS, "-p", "asyncio", "--asyncio-mode=strict")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*ERROR at teardown of test_strict_unnoticed*", "*bad value 6*"])


FILE_SERVICE = """
import tomodachi


class FromFile(tomodachi.Service):
    name = "from-file"

    async def _started_service(self):
        self.ready = True
"""

FILE_TESTS = """
from pathlib import Path

import tomodachi


async def test_file_service(tomodachi_service):
    svc = await tomodachi_service(Path(__file__).parent / "service_under_test.py")
    assert svc.instance.ready
    assert tomodachi.get_service("from-file") is svc.instance
"""


def test_service_file_path_in_a_user_suite(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(service_under_test=FILE_SERVICE, test_inner_file=FILE_TESTS)
    result = pytester.runpytest(*INNER_ARGS, "-o", "asyncio_mode=auto")
    result.assert_outcomes(passed=1)


RELEASE_TESTS = """
import gc
import weakref

import tomodachi

services = []


class Kept(tomodachi.Service):
    name = "kept"


async def test_first(tomodachi_service):
    svc = await tomodachi_service(Kept)
    services.append(weakref.ref(svc.instance))


def test_second():
    gc.collect()
    assert services[0]() is None, "the first test's stopped service is still alive"
"""


def test_a_finished_tests_services_are_let_go(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_inner_release=RELEASE_TESTS)
    result = pytester.runpytest(*INNER_ARGS, "-o", "asyncio_mode=auto", "-p", "no:randomly")
    result.assert_outcomes(passed=2)
