"""pytest plugin (registered via the pytest11 entry point): tomodachi_service, tomodachi_system, virtual_clock,
fake_amqp, fake_sns_sqs, otel_spans.

Works with pytest-asyncio in auto and strict mode; every fixture lives on the test's own event loop.
``--tomodachi-wire=real`` (or ``TOMODACHI_TEST_WIRE=real``) runs the same tests on RabbitMQ and a moto server.
It is registered for every install of tomodachi: its test dependencies (pytest-asyncio, freezegun, moto) are
only needed by the fixtures that use them, which name the ``testing`` extra when one is missing.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import AsyncIterator, Callable, Generator, Iterator
from datetime import datetime
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pytest

from tomodachi.runtime.clock import RealClock
from tomodachi.testing.clock import DEFAULT_START, Instant, VirtualClock, parse_instant
from tomodachi.testing.fakes.protocols import FakeAmqp, FakeSnsSqs
from tomodachi.testing.harness import ServiceHarness
from tomodachi.testing.otel import MissingOpenTelemetry, SpanRecorder, record_spans
from tomodachi.testing.plans import SEED_ENV, session_seed, set_session_seed, set_test_seed
from tomodachi.testing.systems import ServiceFactory, TestSystem
from tomodachi.testing.wires import (
    MOTO_URL_ENV,
    WIRE_ENV,
    WIRES,
    amqp_target,
    amqp_unreachable_reason,
    moto_server,
    new_test_prefix,
    real_wire_amqp_options,
    real_wire_options,
    reset_moto,
)
from tomodachi.topology.observed import FlowRecorder

if TYPE_CHECKING:
    from pluggy import Result


def _load_pytest_asyncio() -> ModuleType | None:
    try:
        import pytest_asyncio
    except ImportError:  # a plain install: the async fixtures say which extra to install
        return None
    return pytest_asyncio


pytest_asyncio = _load_pytest_asyncio()

EXTRA_HINT = "install the testing extra: pip install 'tomodachi[testing]'"


def _missing(what: str, exc: ImportError | None = None) -> str:
    detail = f" ({exc})" if exc is not None else ""
    return f"the tomodachi fixtures need {what}{detail}: {EXTRA_HINT}"


def _async_fixture(func: Callable[..., object]) -> Callable[..., object]:
    """``pytest_asyncio.fixture`` when it is installed, else a fixture that fails naming the extra."""
    if pytest_asyncio is not None:
        fixture: Callable[..., object] = pytest_asyncio.fixture(func)
        return fixture

    @pytest.fixture(name=func.__name__)
    def unavailable() -> None:
        pytest.fail(_missing("pytest-asyncio"), pytrace=False)

    unavailable.__doc__ = func.__doc__
    return unavailable


def _require_async_test(request: pytest.FixtureRequest) -> None:
    """The fixtures start services on the test's event loop: a sync test would pass without awaiting them."""
    function = getattr(request.node, "function", None)
    if function is None:
        return
    inner = getattr(getattr(function, "hypothesis", None), "inner_test", function)
    if not (inspect.iscoroutinefunction(inner) or inspect.isasyncgenfunction(inner)):
        pytest.fail(
            f"{request.node.name} is a sync test but uses the tomodachi fixtures, which run services on the test's "
            "event loop: make it `async def` (with pytest-asyncio in auto mode, or marked "
            "@pytest.mark.asyncio). Where a test must stay sync, asyncio.run() an async function that runs the "
            "system in `async with tomodachi.testing.system(...)`.",
            pytrace=False,
        )
    is_async_test = getattr(pytest_asyncio, "is_async_test", None)
    if is_async_test is not None and not is_async_test(request.node):
        pytest.fail(
            f"{request.node.name} is an async test that pytest-asyncio does not run (its strict mode, and no "
            '@pytest.mark.asyncio): set asyncio_mode = "auto" in the pytest configuration, or mark the test',
            pytrace=False,
        )


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("tomodachi")
    group.addoption(
        "--tomodachi-wire",
        choices=WIRES,
        default=None,
        help="run tomodachi services on in-memory fakes (default) or on real RabbitMQ + moto "
        f"(environment: {WIRE_ENV})",
    )
    group.addoption(
        "--tomodachi-seed",
        type=int,
        default=None,
        help=f"the seed of every fault plan applied in the tests (replays a reported failure; environment: {SEED_ENV})",
    )
    group.addoption(
        "--tomodachi-topology",
        metavar="FILE",
        default=None,
        help="write the flows the tests' services showed (who published what, who consumed it, what was "
        "dead-lettered) as a Mermaid diagram to FILE (.md: in a fenced block; .json / .txt: other formats)",
    )


SEED_BEFORE_KEY = pytest.StashKey[int | None]()


TOPOLOGY_KEY = pytest.StashKey[FlowRecorder]()


def pytest_unconfigure(config: pytest.Config) -> None:
    # an inner pytest run (pytester) must not leave its seed to the outer session
    set_session_seed(config.stash.get(SEED_BEFORE_KEY, None))
    recorder = config.stash.get(TOPOLOGY_KEY, None)
    path = config.getoption("--tomodachi-topology", None)
    if recorder is not None and path:
        from tomodachi.topology.command import write_topology

        write_topology(recorder.topology(), str(path))


@pytest.fixture(scope="session")
def tomodachi_wire(pytestconfig: pytest.Config) -> str:
    """``"fake"`` or ``"real"``: which wires this session's services run on."""
    wire = pytestconfig.getoption("--tomodachi-wire") or os.environ.get(WIRE_ENV, "fake").strip().lower() or "fake"
    if wire not in WIRES:
        raise pytest.UsageError(f"{WIRE_ENV} must be one of {', '.join(WIRES)}, not {wire!r}")
    return str(wire)


@pytest.fixture(scope="session")
def tomodachi_moto_url(tomodachi_wire: str) -> Iterator[str]:
    """URL of the moto server used on real wires: ``TOMODACHI_TEST_MOTO_URL`` or one started for the session."""
    if os.environ.get(MOTO_URL_ENV):
        yield os.environ[MOTO_URL_ENV].rstrip("/")
        return
    try:
        import moto  # noqa: F401 - only to name the extra when it is missing
    except ImportError as exc:
        pytest.fail(_missing("moto[server] for --tomodachi-wire=real", exc), pytrace=False)
    with moto_server() as url:
        yield url


def pytest_configure(config: pytest.Config) -> None:
    config.stash[SEED_BEFORE_KEY] = set_session_seed(config.getoption("--tomodachi-seed", None))
    if config.getoption("--tomodachi-topology", None):
        config.stash[TOPOLOGY_KEY] = FlowRecorder()
    config.addinivalue_line(
        "markers", "tomodachi_seed(seed): the seed of the fault plans this test applies (overrides --tomodachi-seed)"
    )
    config.addinivalue_line(
        "markers",
        "virtual_clock(start): start the test's virtual_clock at start (a datetime, naive means UTC, "
        "or an ISO-8601 string such as '2025-06-01T12:00:00Z')",
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test marked ``virtual_clock`` that asks for no fixture running the clock would run on the real clock:
    say so (for the test's own marker; a class's or module's also covers tests that do not use the clock)."""
    for item in items:
        marked = any(marker.name == "virtual_clock" for marker in getattr(item, "own_markers", ()))
        fixtures = getattr(item, "fixturenames", ())
        # the harness (behind every fixture that starts services) asks for virtual_clock when it runs
        if marked and "virtual_clock" not in fixtures and "tomodachi_harness" not in fixtures:
            item.warn(
                pytest.PytestWarning(
                    f"{item.name} is marked virtual_clock but uses no fixture that runs the virtual clock "
                    "(virtual_clock, tomodachi_service, tomodachi_system, fake_amqp, fake_sns_sqs): the marker "
                    "changes nothing and the test runs on the real clock"
                )
            )


@pytest.fixture
def virtual_clock_start() -> Instant:
    """Where ``virtual_clock`` starts when the test has no ``virtual_clock`` marker: ``DEFAULT_START``
    (2024-01-01 00:00 UTC, a Monday). Override it in a conftest.py to change the start for a folder."""
    return DEFAULT_START


@pytest.fixture
def virtual_clock(
    request: pytest.FixtureRequest, tomodachi_wire: str, virtual_clock_start: Instant
) -> Iterator[VirtualClock]:
    """The clock every service of this test runs on. Moves only on ``await virtual_clock.advance(...)``.

    It starts at ``@pytest.mark.virtual_clock(start=...)`` (test, class or module), else at the
    ``virtual_clock_start`` fixture. While the test runs, the wall clock of user code (``datetime.now()``,
    ``time.time()``, ``date.today()``…) reads virtual time; ``time.monotonic()`` / ``time.perf_counter()`` stay real.
    """
    if tomodachi_wire == "real":
        pytest.skip("virtual time needs the in-memory wires; this run uses --tomodachi-wire=real")
    clock = VirtualClock(_virtual_clock_start(request, virtual_clock_start))
    try:
        clock.freeze()
    except ImportError as exc:
        pytest.fail(_missing("freezegun", exc), pytrace=False)
    try:
        yield clock
    finally:
        clock.unfreeze()


def _virtual_clock_start(request: pytest.FixtureRequest, default: Instant) -> datetime:
    """The start the test asks for: its closest ``virtual_clock`` marker, else ``default``."""
    marker = request.node.get_closest_marker("virtual_clock")
    if marker is None:
        return _checked_start(default, "the virtual_clock_start fixture")
    usage = "@pytest.mark.virtual_clock takes one argument, start=<datetime or ISO-8601 string>"
    unknown = sorted(set(marker.kwargs) - {"start"})
    if unknown:
        pytest.fail(f"{usage}; unknown argument {', '.join(unknown)}", pytrace=False)
    given = [*marker.args, *marker.kwargs.values()]
    if len(given) != 1:
        pytest.fail(f"{usage}; got {len(given)} arguments", pytrace=False)
    return _checked_start(given[0], "@pytest.mark.virtual_clock(start=...)")


def _checked_start(value: Any, source: str) -> datetime:
    try:
        return parse_instant(value)
    except (TypeError, ValueError) as exc:
        pytest.fail(f"{source}: {exc}", pytrace=False)


@_async_fixture
async def tomodachi_harness(request: pytest.FixtureRequest, tomodachi_wire: str) -> AsyncIterator[ServiceHarness]:
    """The harness behind ``tomodachi_service``: one Environment per test, stopped at teardown."""
    _require_async_test(request)
    if tomodachi_wire == "fake":
        harness = ServiceHarness(request.getfixturevalue("virtual_clock"))
    else:
        # probe the RabbitMQ the services will use (real_wire_options hands them the same host and port)
        problem = amqp_unreachable_reason(*amqp_target(real_wire_amqp_options()))
        if problem:
            message = f"{problem} (needed by --tomodachi-wire=real)"
            if os.environ.get("CI", "").lower() == "true":
                pytest.fail(message)
            pytest.skip(message)
        moto_url = request.getfixturevalue("tomodachi_moto_url")
        reset_moto(moto_url)
        options = real_wire_options(moto_url, new_test_prefix())
        harness = ServiceHarness(RealClock(), wire="real", wire_options=options)
    harness.seed_override = _seed(request)
    recorder = request.config.stash.get(TOPOLOGY_KEY, None)
    if recorder is not None:
        harness.record_flows(recorder)
    request.node.stash[HARNESS_KEY] = harness
    try:
        yield harness
    finally:
        await harness.stop_all()
    harness.raise_unnoticed()


HARNESS_KEY = pytest.StashKey[ServiceHarness]()


def _seed(request: pytest.FixtureRequest) -> int | None:
    try:
        return session_seed()  # the test's marker (set around the test by the hook below) comes first
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None


def _marker_seed(item: pytest.Item) -> int | None:
    marker = item.get_closest_marker("tomodachi_seed")
    if marker is None:
        return None
    value = marker.args[0] if marker.args else marker.kwargs.get("seed")
    if isinstance(value, bool) or not isinstance(value, int):
        raise pytest.UsageError(f"{item.nodeid}: @pytest.mark.tomodachi_seed takes an int seed, not {value!r}")
    return value


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, None, None]:
    """The test's ``tomodachi_seed`` marker applies to every plan it applies, in fixtures and in ``system()``; the
    test's harness is let go once its reports are made."""
    before = set_test_seed(_marker_seed(item))
    try:
        yield
    finally:
        set_test_seed(before)
        # pytest keeps every item for the whole session: a harness left in its stash would keep the test's stopped
        # system alive, and every later garbage collection would walk it
        if HARNESS_KEY in item.stash:
            del item.stash[HARNESS_KEY]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, Result[pytest.TestReport], None]:
    """A failed test that applied a fault plan reports the seed, the plan and the delivery trace."""
    outcome = yield
    report = outcome.get_result()
    harness = item.stash.get(HARNESS_KEY, None)
    if report.failed and harness is not None:
        text = harness.failure_report()
        if text is not None:
            report.sections.append(("tomodachi fault plan", text))


@pytest.fixture
def tomodachi_service(tomodachi_harness: ServiceHarness) -> ServiceFactory:
    """Async factory: ``svc = await tomodachi_service(MyService)`` (a class or a service file path).

    The service starts in-process on the test's virtual clock and in-memory brokers, runs its lifecycle
    hooks, and is stopped gracefully at teardown. Teardown fails the test if a handler raised an exception
    the test did not take (``svc.take_errors()``) or expect (``svc.expect_errors(ExcType)``), or if a message
    was dead-lettered or dropped and the test did not take (``fake.take_dead_letters()``) or expect it.
    """
    return tomodachi_harness.start


@pytest.fixture
def tomodachi_system(tomodachi_harness: ServiceHarness) -> TestSystem:
    """This test's whole system: the services started in it, both fakes and the clock, with ``settle()``,
    ``pending()`` and ``run_until_idle()`` across them."""
    return TestSystem(tomodachi_harness)


@pytest.fixture
def fake_amqp(tomodachi_harness: ServiceHarness) -> FakeAmqp:
    """The AMQP bus of this test's services: publish into it, read what was published, queued and
    dead-lettered, inject faults, settle it."""
    return tomodachi_harness.fake("amqp")


@pytest.fixture
def fake_sns_sqs(tomodachi_harness: ServiceHarness) -> FakeSnsSqs:
    """The SNS+SQS bus of this test's services: publish and send into it, read what was published, queued and
    dead-lettered, inject faults, settle it."""
    return tomodachi_harness.fake("aws_sns_sqs")


@pytest.fixture
def otel_spans() -> Iterator[SpanRecorder]:
    """The OpenTelemetry spans (and metrics) of the services this test starts, in memory and in their clock's time
    (virtual time on the fakes). Request it before the fixtures that start services. Needs the opentelemetry
    extra; without it the test fails naming the extra."""
    recording = record_spans()
    try:
        spans = recording.__enter__()
    except MissingOpenTelemetry as exc:
        missing = str(exc)
    else:
        missing = ""
    if missing:
        pytest.fail(missing, pytrace=False)
    try:
        yield spans
    finally:
        recording.__exit__(None, None, None)
