"""Text of the small files ``run_upstream_corpus.py`` writes into a temporary hooks dir (never into the project):
a pytest guard plugin, an optional stub for the ``tomodachi.opentelemetry`` names upstream's conftest imports,
an adapter for upstream's ``tests/run_test_service_helper.py``, and the probe of what that helper needs."""

from __future__ import annotations

GUARD_PLUGIN = '''"""Written by run_upstream_corpus.py: fail the run unless tomodachi is the package under test, and give every
test phase a time limit (SIGALRM, like pytest-timeout's signal method)."""
import os
import signal
from pathlib import Path

import pytest

_LIMIT = float(os.environ.get("UPSTREAM_CORPUS_TEST_TIMEOUT", "90"))


class CorpusTestTimeout(Exception):
    pass


def _check() -> None:
    import tomodachi

    expected = Path(os.environ["UPSTREAM_CORPUS_EXPECT_TOMODACHI"]).resolve()
    actual = Path(tomodachi.__file__).resolve().parent
    if actual != expected:
        raise pytest.UsageError(f"tomodachi resolves to {actual}, expected {expected}")


def pytest_configure(config: pytest.Config) -> None:
    _check()


def pytest_sessionfinish(session: pytest.Session) -> None:
    _check()


def _alarm(signum: int, frame: object) -> None:
    raise CorpusTestTimeout(f"test phase exceeded {_LIMIT:g} s (run_upstream_corpus per-test limit)")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item: pytest.Item):
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, _LIMIT)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item):
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, _LIMIT)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item):
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, _LIMIT)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
'''

# Only used by the diagnostic passes: upstream's conftest.py has an autouse fixture that imports these names for
# every test, so without them no test gets past setup. The stub does nothing (no instrumentation at all).
OTEL_STUB_PLUGIN = '''"""Written by run_upstream_corpus.py (diagnostic pass): no-op stand-ins for tomodachi.opentelemetry's
TomodachiInstrumentor and tomodachi.opentelemetry.distro's OpenTelemetryConfigurator / OpenTelemetryDistro,
installed only if our package has no tomodachi.opentelemetry."""
import sys
import types

try:
    import tomodachi.opentelemetry  # noqa: F401
except ImportError:

    class _NoOp:
        def __init__(self, *args: object, **kwargs: object) -> None:
            pass

        def instrument(self, *args: object, **kwargs: object) -> None:
            pass

        def uninstrument(self, *args: object, **kwargs: object) -> None:
            pass

        def reset(self) -> None:
            pass

    _otel = types.ModuleType("tomodachi.opentelemetry")
    _otel.__path__ = []
    _otel.__doc__ = "stub written by run_upstream_corpus.py"
    _otel.TomodachiInstrumentor = type("TomodachiInstrumentor", (_NoOp,), {})
    _distro = types.ModuleType("tomodachi.opentelemetry.distro")
    _distro.OpenTelemetryConfigurator = type("OpenTelemetryConfigurator", (_NoOp,), {})
    _distro.OpenTelemetryDistro = type("OpenTelemetryDistro", (_NoOp,), {})
    _otel.distro = _distro
    sys.modules["tomodachi.opentelemetry"] = _otel
    sys.modules["tomodachi.opentelemetry.distro"] = _distro
'''

# Diagnostic pass only: upstream's start_service() contract (services dict + future that ends when the services
# stop) on top of our tomodachi.runtime.launcher.Launcher, to see how the service-level tests fare once the
# helper itself no longer fails. Not upstream's code; written from the contract its tests rely on.
HELPER_ADAPTER = '''"""Written by run_upstream_corpus.py (diagnostic pass): start_service() on our Launcher."""
import asyncio
from typing import Any, Optional, Tuple

import tomodachi
from tomodachi.runtime.launcher import Launcher


def start_service(filename: str, wait: bool = True, loop: Optional[asyncio.AbstractEventLoop] = None) -> Tuple:
    if loop is None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
    tomodachi.SERVICE_EXIT_CODE = tomodachi.DEFAULT_SERVICE_EXIT_CODE
    launcher = Launcher([filename])

    async def _main() -> int:
        code = await launcher.main()
        tomodachi.SERVICE_EXIT_CODE = code
        return code

    future = loop.create_task(_main())

    async def get_services() -> dict:
        while not future.done():
            if launcher.containers and all(c.started.is_set() for c in launcher.containers):
                break
            await asyncio.sleep(0.01)
        return {c.name: c.instance for c in launcher.containers if c.instance is not None}

    if wait:
        return loop.run_until_complete(get_services()), future
    return get_services, future
'''

# Run in the staged checkout: which of the names and behaviours upstream's tests/run_test_service_helper.py
# relies on does our package provide? One JSON object a line: {"check", "ok", "detail"}.
HELPER_PROBE = r"""
import asyncio, inspect, json, sys, traceback

def report(check, ok, detail=""):
    print(json.dumps({"check": check, "ok": bool(ok), "detail": str(detail)[:300]}), flush=True)

def attempt(check, fn):
    try:
        value = fn()
    except BaseException as exc:
        report(check, False, f"{type(exc).__name__}: {exc}")
        return None
    report(check, True, repr(value)[:200])
    return value

import tomodachi
report("tomodachi resolves to", True, tomodachi.__file__)
ServiceContainer = attempt("from tomodachi.container import ServiceContainer",
                           lambda: __import__("tomodachi.container", fromlist=["x"]).ServiceContainer)
ServiceImporter = attempt("from tomodachi.importer import ServiceImporter",
                          lambda: __import__("tomodachi.importer", fromlist=["x"]).ServiceImporter)
ServiceLauncher = attempt("from tomodachi.launcher import ServiceLauncher",
                          lambda: __import__("tomodachi.launcher", fromlist=["x"]).ServiceLauncher)
if ServiceLauncher is not None:
    report("ServiceLauncher.stop_services_post_hook (class attribute, default None)",
           hasattr(ServiceLauncher, "stop_services_post_hook"))
    report("ServiceLauncher.stop_services (classmethod)", callable(getattr(ServiceLauncher, "stop_services", None)))
attempt("tomodachi.get_contextvar('exit_code').set(-1)", lambda: tomodachi.get_contextvar("exit_code").set(-1))
value = attempt("tomodachi.context('exit_code') after set(-1)", lambda: tomodachi.context("exit_code"))
report("tomodachi.context('exit_code') == -1", value == -1, value)
attempt("tomodachi.SERVICE_EXIT_CODE", lambda: tomodachi.SERVICE_EXIT_CODE)
attempt("tomodachi.DEFAULT_SERVICE_EXIT_CODE", lambda: tomodachi.DEFAULT_SERVICE_EXIT_CODE)

module = None
if ServiceImporter is not None:
    module = attempt("ServiceImporter.import_service_file('tests/services/dummy_service.py') -> module",
                     lambda: ServiceImporter.import_service_file("tests/services/dummy_service.py"))
    for path, wanted in (("tests/services/no_service_existing.py", OSError),
                         ("tests/services/invalid_service.py", NameError),
                         ("tests/services/syntax_error_service.py", SyntaxError),
                         ("tests/services/import_error_service.py", ImportError)):
        try:
            ServiceImporter.import_service_file(path)
            report(f"import_service_file({path!r}) raises {wanted.__name__}", False, "no exception")
        except BaseException as exc:
            report(f"import_service_file({path!r}) raises {wanted.__name__}", isinstance(exc, wanted),
                   f"{type(exc).__name__} (MRO {[c.__name__ for c in type(exc).__mro__[:4]]}): {exc}")

container = None
if ServiceContainer is not None and module is not None:
    container = attempt("ServiceContainer(module) (one positional argument: the imported module)",
                        lambda: ServiceContainer(module))
if container is not None:
    report("container.started_waiter attribute (None before run)", hasattr(container, "started_waiter"),
           getattr(container, "started_waiter", "<missing>"))
    report("container.run_until_complete is a coroutine function",
           inspect.iscoroutinefunction(getattr(container, "run_until_complete", None)))
    report("container.stop_service() method", callable(getattr(container, "stop_service", None)))
elif ServiceContainer is not None:  # judged on the class, since no instance could be made
    init_names = getattr(getattr(ServiceContainer.__init__, "__code__", None), "co_names", ())
    report("ServiceContainer sets a started_waiter attribute (Future of [(name, instance, log_level)])",
           "started_waiter" in init_names or hasattr(ServiceContainer, "started_waiter"),
           f"public attributes: {sorted(n for n in dir(ServiceContainer) if not n.startswith('_'))}")
    report("ServiceContainer.run_until_complete is a coroutine function",
           inspect.iscoroutinefunction(getattr(ServiceContainer, "run_until_complete", None)))
    report("ServiceContainer.stop_service() method", callable(getattr(ServiceContainer, "stop_service", None)))

async def _exit_outside_launcher():
    try:
        tomodachi.exit()
        return "returned (stop requested)"
    except SystemExit as exc:
        raise RuntimeError(f"tomodachi.exit() raised SystemExit({exc.code}) with no Launcher running")

try:
    detail = asyncio.new_event_loop().run_until_complete(_exit_outside_launcher())
    report("tomodachi.exit() without a Launcher stops services instead of exiting the process", True, detail)
except BaseException as exc:
    report("tomodachi.exit() without a Launcher stops services instead of exiting the process", False,
           f"{type(exc).__name__}: {exc}")
"""
