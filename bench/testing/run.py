"""Testing-API benchmark: start+stop of a three-service system (pytest fixtures and ``system()``) and messages/s
through ``settle()``, ours vs FastStream 0.7's ``TestRabbitBroker``, plus a cProfile of our messages case.

Run with the project's interpreter: `.venv/bin/python bench/testing/run.py [--quick] [--json out.json]`.
FastStream is installed only into its own virtualenv (default `.bench/faststream-venv`, gitignored), created on
first use, and runs in a subprocess of it.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import io
import json
import os
import pstats
import random
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
DEFAULT_FASTSTREAM_VENV = REPO / ".bench" / "faststream-venv"
FASTSTREAM_REQUIREMENT = "faststream[rabbit]==0.7.*"

sys.path.insert(0, str(HERE))
import bench_services  # noqa: E402

# targets from the issue
TARGET_SYSTEM_MS = 5.0
TARGET_VS_FASTSTREAM = 100.0

ROUTING_KEY = "bench.key"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def median(values: list[float]) -> float:
    return statistics.median(values)


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TOMODACHI_", "PYTHON", "PYTEST"))}
    env.pop("VIRTUAL_ENV", None)
    env.update(extra)
    return env


# -- 1a. start + stop per test through the pytest fixtures -------------------------------------------------------

PYTEST_INI = """
[pytest]
asyncio_mode = auto
asyncio_default_fixture_loop_scope = function
"""

# times every test's whole protocol (setup, call, teardown: the three services up and down) and the test loop
TIMING_CONFTEST = """
import json
import os
import time

import pytest

_tests = []
_loop = []


@pytest.hookimpl(hookwrapper=True)
def pytest_runtestloop(session):
    started = time.perf_counter()
    yield
    _loop.append(time.perf_counter() - started)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    started = time.perf_counter()
    yield
    _tests.append(time.perf_counter() - started)


def pytest_unconfigure(config):
    out = os.environ.get("BENCH_TIMINGS")
    if out:
        with open(out, "w") as f:
            json.dump({"loop": _loop[0] if _loop else None, "tests": _tests}, f)
"""

SERVICES_TEST = """
async def test_system_{i}(tomodachi_service):
    await tomodachi_service(Orders)
    await tomodachi_service(Billing)
    await tomodachi_service(Accounting)
"""

EMPTY_TEST = """
async def test_empty_{i}():
    pass
"""


def write_pytest_project(folder: Path, tests: int) -> None:
    (folder / "pytest.ini").write_text(PYTEST_INI.lstrip())
    (folder / "conftest.py").write_text(TIMING_CONFTEST.lstrip())
    shutil.copy(HERE / "bench_services.py", folder / "bench_services.py")
    header = "from bench_services import Accounting, Billing, Orders\n"
    (folder / "test_services.py").write_text(header + "".join(SERVICES_TEST.format(i=i) for i in range(tests)))
    (folder / "test_empty.py").write_text("".join(EMPTY_TEST.format(i=i) for i in range(tests)))


def run_pytest(folder: Path, module: str, tests: int) -> dict[str, Any]:
    """One `python -m pytest -q` of ``module`` in a subprocess: its wall time and the in-process timings."""
    timings = folder / f"{module}.timings.json"
    timings.unlink(missing_ok=True)
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "-p", "no:cacheprovider", module]
    started = time.perf_counter()
    result = subprocess.run(
        command, cwd=folder, env=clean_env(BENCH_TIMINGS=str(timings)), capture_output=True, text=True, timeout=600
    )
    wall = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"pytest {module} failed ({result.returncode}):\n{result.stdout[-3000:]}{result.stderr}")
    found = json.loads(timings.read_text())
    if len(found["tests"]) != tests:
        raise RuntimeError(f"pytest {module} ran {len(found['tests'])} tests, expected {tests}")
    return {"wall": wall, "loop": found["loop"], "tests": found["tests"]}


def bench_fixtures(tests: int, reps: int) -> dict[str, Any]:
    """ms per system up+down through ``tomodachi_service``: (services module - empty module) / tests."""
    folder = Path(tempfile.mkdtemp(prefix="tomodachi-bench-testing-"))
    write_pytest_project(folder, tests)
    for module in ("test_empty.py", "test_services.py"):  # warm-up: .pyc files, OS file cache
        run_pytest(folder, module, tests)
    runs: dict[str, list[dict[str, Any]]] = {"empty": [], "services": []}
    for _ in range(reps):  # interleaved, so drift hits both alike
        runs["empty"].append(run_pytest(folder, "test_empty.py", tests))
        runs["services"].append(run_pytest(folder, "test_services.py", tests))
    shutil.rmtree(folder, ignore_errors=True)

    def per_test_ms(key: str, module: str) -> float:
        return median([run[key] for run in runs[module]]) / tests * 1000

    def test_median_ms(module: str) -> float:
        return median([t for run in runs[module] for t in run["tests"]]) * 1000

    return {
        "tests": tests,
        "reps": reps,
        # the headline: whole pytest processes, wall clock (imports on the first start included, amortised)
        "system_ms_wall": per_test_ms("wall", "services") - per_test_ms("wall", "empty"),
        # the test loop only (no interpreter start or collection)
        "system_ms_loop": per_test_ms("loop", "services") - per_test_ms("loop", "empty"),
        # steady state: median single test (setup+call+teardown) of each module
        "test_median_ms": {m: test_median_ms(m) for m in runs},
        "system_ms_median_test": test_median_ms("services") - test_median_ms("empty"),
        # the first test of the services module also pays the lazy imports of the transports
        "first_test_ms": {m: median([run["tests"][0] for run in runs[m]]) * 1000 for m in runs},
        "samples": {m: [{"wall": r["wall"], "loop": r["loop"]} for r in rs] for m, rs in runs.items()},
    }


# -- 1b. start + stop per `async with system(...)` block ---------------------------------------------------------


async def _system_blocks(blocks: int) -> float:
    from tomodachi.testing import system

    started = time.perf_counter()
    for _ in range(blocks):
        async with system(bench_services.Orders, bench_services.Billing, bench_services.Accounting):
            pass
    return time.perf_counter() - started


async def _check_system() -> None:
    """The three services really talk: HTTP → SNS+SQS → AMQP, and the hourly function fires."""
    from tomodachi.testing import system

    async with system(bench_services.Orders, bench_services.Billing, bench_services.Accounting) as shop:
        async with shop.service("orders").http.post("/orders/7") as response:
            assert response.status == 202, response.status
        await shop.settle()
        accounting = shop.service("accounting").instance
        assert accounting.invoices == [{"order_id": 7}], accounting.invoices
        await shop.clock.advance(3600)
        assert accounting.reports == 1, accounting.reports


def worker_system(blocks: int) -> dict[str, Any]:
    """One fresh process: check the system works, warm up, time ``blocks`` blocks; count what they leave alive."""

    async def main() -> dict[str, Any]:
        await _check_system()
        await _system_blocks(max(10, blocks // 10))  # warm-up: lazy imports, first-call caches
        gc.collect()
        before = len(gc.get_objects())
        seconds = await _system_blocks(blocks)
        gc.collect()
        return {"seconds": seconds, "retained_objects": len(gc.get_objects()) - before}

    return asyncio.run(main())


def bench_system(results: list[dict[str, Any]], blocks: int) -> dict[str, Any]:
    per_block = [r["seconds"] / blocks * 1000 for r in results]
    retained = [r["retained_objects"] / blocks for r in results]
    return {
        "blocks": blocks,
        "reps": len(results),
        "system_ms": median(per_block),
        "samples_ms": per_block,
        # objects still alive (after gc.collect()) per finished block: ~0 unless stopped systems are kept
        "retained_objects_per_block": median(retained),
    }


# -- 2. messages/s through settle() ------------------------------------------------------------------------------


class GcTimer:
    """Wall time spent in the cyclic garbage collector while installed (``gc.callbacks``)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.collections = 0
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._started
            self.collections += 1

    def __enter__(self) -> GcTimer:
        gc.callbacks.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self)


async def _ours_messages(messages: int, profile: cProfile.Profile | None = None) -> tuple[float, GcTimer]:
    from tomodachi.testing import system

    async with system(bench_services.Sink) as shop:
        fake = shop.fake_amqp
        received = shop.service("sink").instance.received
        if profile is not None:
            profile.enable()
        with GcTimer() as collector:
            started = time.perf_counter()
            for i in range(messages):
                await fake.publish(ROUTING_KEY, {"n": i})
            await fake.settle()
            elapsed = time.perf_counter() - started
        if profile is not None:
            profile.disable()
        if len(received) != messages or received[-1] != {"n": messages - 1}:
            raise RuntimeError(f"ours handled {len(received)} of {messages} messages")
    return elapsed, collector


def worker_messages(messages: int) -> dict[str, Any]:
    """One fresh process: warm up, then one timed publish+settle of ``messages``."""

    async def main() -> dict[str, Any]:
        await _ours_messages(min(messages, 500))  # warm-up: lazy imports, first-call caches
        seconds, collector = await _ours_messages(messages)
        return {"seconds": seconds, "gc_seconds": collector.seconds, "gc_collections": collector.collections}

    return asyncio.run(main())


def bench_ours_messages(results: list[dict[str, Any]], messages: int) -> dict[str, Any]:
    seconds = [r["seconds"] for r in results]
    return {
        "messages": messages,
        "reps": len(results),
        "seconds": seconds,
        "msg_per_s": messages / median(seconds),
        "gc_share": median([r["gc_seconds"] / r["seconds"] for r in results]),
    }


def ensure_faststream_venv(venv: Path) -> Path:
    """Create ``venv`` with FastStream 0.7 installed (once); return its interpreter."""
    python = venv / "bin" / "python"
    probe = [str(python), "-I", "-c", "import importlib.metadata as m; print(m.version('faststream'))"]
    if python.exists():
        found = subprocess.run(probe, capture_output=True, text=True, cwd=tempfile.gettempdir())
        if found.returncode == 0 and found.stdout.strip().startswith("0.7."):
            return python
    log(f"creating {venv} with {FASTSTREAM_REQUIREMENT} ...")
    # the same base interpreter as ours (a venv made from a venv's python is based on its base interpreter)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", FASTSTREAM_REQUIREMENT]
    subprocess.run(pip, check=True)
    return python


def faststream_once(python: Path, messages: int) -> dict[str, Any]:
    """One fresh FastStream process: warm-up, then one timed run of ``messages``."""
    result = subprocess.run(
        [str(python), str(HERE / "faststream_worker.py"), str(messages), "1"],
        capture_output=True,
        text=True,
        cwd=tempfile.gettempdir(),
        env=clean_env(),
        timeout=3600,
    )
    if result.returncode != 0:
        raise RuntimeError(f"FastStream worker failed ({result.returncode}):\n{result.stderr[-3000:]}")
    found: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return {"version": found["version"], "seconds": found["seconds"][0]}


def bench_faststream(results: list[dict[str, Any]], messages: int) -> dict[str, Any]:
    seconds = [r["seconds"] for r in results]
    return {
        "version": results[0]["version"],
        "messages": messages,
        "reps": len(results),
        "seconds": seconds,
        "msg_per_s": messages / median(seconds),
    }


def run_worker(kind: str, messages: int, blocks: int) -> dict[str, Any]:
    """``run.py --worker KIND`` in a fresh process of this interpreter: every measurement of ours starts clean."""
    command = [sys.executable, __file__, "--worker", kind, "--messages", str(messages), "--blocks", str(blocks)]
    result = subprocess.run(command, capture_output=True, text=True, cwd=REPO, env=clean_env(), timeout=3600)
    if result.returncode != 0:
        raise RuntimeError(f"worker {kind} failed ({result.returncode}):\n{result.stderr[-3000:]}")
    found: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return found


# -- cProfile of our messages case -------------------------------------------------------------------------------

STDLIB = Path(sysconfig.get_paths()["stdlib"]).resolve()
SITE = Path(sysconfig.get_paths()["purelib"]).resolve()

# self time grouped by where the code lives (first match wins)
AREAS = [
    ("tomodachi/envelope/", "envelope build/parse (JsonBase)"),
    ("tomodachi/runtime/observe.py", "handler-call records (runtime/observe.py)"),
    ("stdlib:inspect.py", "inspect (stdlib)"),
    ("tomodachi/messaging/pipeline.py", "message pipeline + middleware"),
    ("tomodachi/messaging/call_plan.py", "message pipeline + middleware"),
    ("tomodachi/messaging/error_policy.py", "message pipeline + middleware"),
    ("tomodachi/middleware.py", "message pipeline + middleware"),
    ("tomodachi/messaging/", "broker + transport (in-memory AMQP)"),
    ("tomodachi/testing/settle.py", "settle()"),
    ("tomodachi/testing/", "test fake (publish API, records)"),
    ("bench/testing/bench_services.py", "the handler (list.append)"),
    ("bench/testing/", "the benchmark's publish loop"),
    ("stdlib:json/", "json (stdlib)"),
    ("site:freezegun/", "freezegun (frozen wall clock)"),
    ("stdlib:asyncio/", "asyncio event loop"),
    ("tomodachi/", "tomodachi, other"),
]


def where(filename: str) -> str:
    """A short, unambiguous location: repo-relative, `stdlib:...`, `site:...` or a builtin's `~`."""
    if filename.startswith("<") or filename == "~":
        return "~"
    path = Path(filename).resolve()
    for prefix, root in (("site:", SITE), ("", REPO), ("stdlib:", STDLIB)):
        try:
            return prefix + str(path.relative_to(root))
        except ValueError:
            continue
    return filename


def area_of(location: str, function: str) -> str:
    if location == "~":
        return "builtins (" + ("json" if "json" in function else "C calls") + ")"
    for prefix, name in AREAS:
        if location.startswith(prefix):
            return name
    return "other"


def _rows(profile: cProfile.Profile) -> tuple[list[dict[str, Any]], float]:
    stats = pstats.Stats(profile, stream=io.StringIO())
    rows = []
    for (filename, line, function), (cc, nc, tt, ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        location = where(filename)
        label = f"{location}:{line}({function})" if location != "~" else function
        calls = f"{nc}/{cc}" if nc != cc else str(nc)
        rows.append(
            {"function": label, "calls": calls, "tottime": tt, "cumtime": ct, "area": area_of(location, function)}
        )
    return rows, stats.total_tt  # type: ignore[attr-defined]


def _summary(title: str, profile: cProfile.Profile, top: int) -> dict[str, Any]:
    rows, total = _rows(profile)
    areas: dict[str, float] = defaultdict(float)
    for row in rows:
        areas[row["area"]] += row["tottime"]
    return {
        "title": title,
        "total_seconds": total,
        "by_cumtime": sorted(rows, key=lambda r: -r["cumtime"])[:top],
        "by_tottime": sorted(rows, key=lambda r: -r["tottime"])[:top],
        "self_time_by_area": dict(sorted(areas.items(), key=lambda kv: -kv[1])),
    }


def profile_ours(messages: int, top: int = 15) -> dict[str, Any]:
    """cProfile of one publish+settle run of ``messages`` (after a warm-up; the system's start and stop excluded)."""

    async def main(profile: cProfile.Profile) -> GcTimer:
        await _ours_messages(min(messages, 500))
        _, collector = await _ours_messages(messages, profile)
        return collector

    profile = cProfile.Profile()
    collector = asyncio.run(main(profile))
    summary = _summary(f"ours, {messages:,} messages publish+settle", profile, top)
    summary["gc_seconds"] = collector.seconds
    return summary


def profile_system(blocks: int, top: int = 15) -> dict[str, Any]:
    """cProfile of ``blocks`` sequential `async with system(Orders, Billing, Accounting)` blocks (warm)."""

    async def main(profile: cProfile.Profile) -> GcTimer:
        await _system_blocks(max(10, blocks // 10))
        with GcTimer() as collector:
            profile.enable()
            await _system_blocks(blocks)
            profile.disable()
        return collector

    profile = cProfile.Profile()
    collector = asyncio.run(main(profile))
    summary = _summary(f"{blocks} `async with system(Orders, Billing, Accounting)` blocks", profile, top)
    summary["gc_seconds"] = collector.seconds
    return summary


def print_profile(profile: dict[str, Any], areas: bool = True) -> None:
    total = profile["total_seconds"]
    print(
        f"\ncProfile of {profile['title']} ({total:.2f} s under the profiler, of which cyclic GC "
        f"{profile['gc_seconds']:.2f} s, charged to whatever function was running)"
    )
    for key, title in (("by_cumtime", "cumulative"), ("by_tottime", "tottime")):
        print(f"\ntop {len(profile[key])} by {title}:")
        print(f"  {'calls':>11} {'tottime':>8} {'cumtime':>8}  function")
        for row in profile[key]:
            print(f"  {row['calls']:>11} {row['tottime']:8.3f} {row['cumtime']:8.3f}  {row['function']}")
    if areas:
        print("\nself time by area:")
        for area, seconds in profile["self_time_by_area"].items():
            print(f"  {seconds:7.3f} s {seconds / total:6.1%}  {area}")


# -- main --------------------------------------------------------------------------------------------------------

WORKERS = {
    "system": lambda args: worker_system(args.blocks),
    "messages": lambda args: worker_messages(args.messages),
    "profile-messages": lambda args: profile_ours(args.messages),
    "profile-system": lambda args: profile_system(args.blocks),
}


def fmt_row(metric: str, ours: str, faststream: str = "", ratio: str = "", target: str = "") -> str:
    return f"{metric:54} {ours:>12} {faststream:>18} {ratio:>9} {target:>10}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="smoke run: 2,000 messages, 20 tests, 50 blocks, 3 reps")
    parser.add_argument("--messages", type=int, help="messages per repetition (default 20,000)")
    parser.add_argument("--tests", type=int, help="tests per generated pytest module (default 200)")
    parser.add_argument("--blocks", type=int, help="`async with system(...)` blocks per repetition (default 200)")
    parser.add_argument("--reps", type=int, help="repetitions of every measurement (default 5)")
    parser.add_argument("--faststream-venv", type=Path, default=DEFAULT_FASTSTREAM_VENV)
    parser.add_argument("--skip-faststream", action="store_true")
    parser.add_argument("--no-profile", action="store_true", help="skip the cProfiles")
    parser.add_argument("--json", type=Path, help="also write the results and samples to this file")
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)  # one measurement (internal)
    args = parser.parse_args()
    quick = {"messages": 2_000, "tests": 20, "blocks": 50, "reps": 3}
    full = {"messages": 20_000, "tests": 200, "blocks": 200, "reps": 5}
    for key, value in (quick if args.quick else full).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.worker:
        print(json.dumps(WORKERS[args.worker](args)))
        return 0

    faststream_python = None if args.skip_faststream else ensure_faststream_venv(args.faststream_venv)
    load = os.getloadavg()[0]
    log(f"pytest fixtures: {args.tests} tests x {args.reps} (+ the empty module) ...")
    fixtures = bench_fixtures(args.tests, args.reps)
    load = max(load, os.getloadavg()[0])

    # every repetition runs each contender once in a fresh process, in a shuffled order: drift hits all alike
    samples: dict[str, list[dict[str, Any]]] = {"system": [], "messages": [], "faststream": []}
    shuffle = random.Random(7).shuffle
    for rep in range(args.reps):
        kinds = ["system", "messages"] + (["faststream"] if faststream_python is not None else [])
        shuffle(kinds)
        log(f"rep {rep + 1}/{args.reps}: {', '.join(kinds)} ...")
        for kind in kinds:
            if kind == "faststream":
                assert faststream_python is not None
                samples[kind].append(faststream_once(faststream_python, args.messages))
            else:
                samples[kind].append(run_worker(kind, args.messages, args.blocks))
            load = max(load, os.getloadavg()[0])
    systems = bench_system(samples["system"], args.blocks)
    ours = bench_ours_messages(samples["messages"], args.messages)
    faststream = bench_faststream(samples["faststream"], args.messages) if samples["faststream"] else None

    profile = startup_profile = None
    if not args.no_profile:
        log("profiles ...")
        profile = run_worker("profile-messages", args.messages, args.blocks)
        startup_profile = run_worker("profile-system", args.messages, args.blocks)

    ratio = ours["msg_per_s"] / faststream["msg_per_s"] if faststream else None
    target_ms = f"≤ {TARGET_SYSTEM_MS:g} ms"
    print(
        f"\ntesting benchmark (medians of {args.reps} reps), python {sys.version.split()[0]}, "
        f"load average ≤ {load:.2f} on {os.cpu_count()} CPUs"
    )
    fs_label = f"FastStream {faststream['version']}" if faststream else "FastStream"
    print(fmt_row("metric", "ours", fs_label, "ratio", "target"))
    sys_ms = fixtures["system_ms_wall"]
    print(fmt_row(f"fixtures: ms per system up+down ({args.tests} tests)", f"{sys_ms:.2f}", target=target_ms))
    print(fmt_row("  test loop only, ms per system", f"{fixtures['system_ms_loop']:.2f}"))
    print(fmt_row("  median single test, ms per system", f"{fixtures['system_ms_median_test']:.2f}"))
    first = fixtures["first_test_ms"]
    print(fmt_row("  first test, ms: 3-service module / empty", f"{first['services']:.1f} / {first['empty']:.1f}"))
    walls = {m: median([r["wall"] for r in rs]) for m, rs in fixtures["samples"].items()}
    print(fmt_row("  pytest process, s: 3-service module / empty", f"{walls['services']:.2f} / {walls['empty']:.2f}"))
    print(
        fmt_row(
            f"system(): ms per async-with block ({args.blocks} blocks)", f"{systems['system_ms']:.2f}", target=target_ms
        )
    )
    print(fmt_row("  objects left alive per finished block", f"{systems['retained_objects_per_block']:.0f}"))
    fs_rate = f"{faststream['msg_per_s']:,.0f}" if faststream else "-"
    print(
        fmt_row(
            f"msg/s, publish + settle ({args.messages:,} msgs)",
            f"{ours['msg_per_s']:,.0f}",
            fs_rate,
            f"{ratio:.1f}x" if ratio else "-",
            f"≥ {TARGET_VS_FASTSTREAM:g}x",
        )
    )
    print(fmt_row("  share of our time in cyclic GC", f"{ours['gc_share']:.0%}"))
    print()
    print(
        f"target system up+down {target_ms}: fixtures {'met' if sys_ms <= TARGET_SYSTEM_MS else 'NOT met'}, "
        f"system() {'met' if systems['system_ms'] <= TARGET_SYSTEM_MS else 'NOT met'}"
    )
    if ratio is not None:
        met = "met" if ratio >= TARGET_VS_FASTSTREAM else "NOT met"
        print(f"target msg/s ≥ {TARGET_VS_FASTSTREAM:g}x FastStream: {met}")
    if profile is not None and startup_profile is not None:
        print_profile(profile)
        print_profile(startup_profile, areas=False)

    if args.json:
        out = {
            "python": sys.version.split()[0],
            "cpus": os.cpu_count(),
            "load_average": load,
            "fixtures": fixtures,
            "system": systems,
            "ours_messages": ours,
            "faststream_messages": faststream,
            "ratio_vs_faststream": ratio,
            "samples": samples,
            "profile": profile,
            "startup_profile": startup_profile,
        }
        args.json.write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
