"""Fault-plan benchmark: the shop's property test (examples/shop/test_shop_under_faults.py) for N hypothesis examples
of the three-service system under random fault plans, timed end to end.

Each repetition runs in a fresh interpreter (a subprocess of this script): its wall time covers interpreter start,
imports and the hypothesis run; inside, the hypothesis run itself and every example's ``asyncio.run`` of the shop
are timed too. Run with the project's interpreter from the repository root:

    .venv/bin/python bench/fault_plans/run.py                 # 200 examples, 3 repetitions
    .venv/bin/python bench/fault_plans/run.py --examples 1000 --reps 1 --profile
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import logging
import os
import pstats
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
TARGET_SECONDS = 10.0  # for 200 examples
TARGET_EXAMPLES = 200


def child(examples: int, seed: int, profile: bool, keep_logs: bool) -> dict[str, Any]:
    """One timed hypothesis run of ``examples`` examples in this process; returns its figures."""
    if not keep_logs:
        # handler errors (declined cards, injected failures) are logged with tracebacks: a script without logging
        # configuration would print them all through logging's last-resort handler
        logging.getLogger().addHandler(logging.NullHandler())
    sys.path.insert(0, str(REPO))
    from hypothesis import HealthCheck, given, settings
    from hypothesis import seed as hypothesis_seed

    from examples.shop.test_shop_under_faults import ORDERS, PLANS, Placed, run_the_shop_under
    from tomodachi.testing import FaultPlan

    per_example: list[float] = []
    tally: Counter[str] = Counter()

    @hypothesis_seed(seed)
    @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
    @given(plan=PLANS, placed=ORDERS)
    def shop_under_fault_plans(plan: FaultPlan, placed: Placed) -> None:
        started = time.perf_counter()
        outcome = asyncio.run(run_the_shop_under(plan, placed))
        per_example.append(time.perf_counter() - started)
        tally["orders"] += len(placed)
        tally["paid"] += len(outcome.paid)
        tally["not charged"] += len(outcome.not_charged)
        tally["confirmation lost"] += len(outcome.confirmation_lost)
        tally["dead letters"] += outcome.dead_letters
        tally.update(f"fault: {fault.kind}" for fault in plan.faults)

    profiler = cProfile.Profile() if profile else None
    started = time.perf_counter()
    if profiler is not None:
        profiler.enable()
    shop_under_fault_plans()
    if profiler is not None:
        profiler.disable()
    seconds = time.perf_counter() - started

    result: dict[str, Any] = {
        "examples": len(per_example),
        "seconds": seconds,
        "example_ms": sorted(1000 * s for s in per_example),
        "tally": dict(tally),
    }
    if profiler is not None:
        result["profile"] = {key: profile_text(profiler, key) for key in ("cumulative", "tottime")}
    return result


def profile_text(profiler: cProfile.Profile, key: str, top: int = 25) -> str:
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(key).print_stats(top)
    return out.getvalue()


def run_child(args: argparse.Namespace, seed: int) -> dict[str, Any]:
    command = [sys.executable, str(Path(__file__).resolve()), "--child", "--examples", str(args.examples)]
    command += ["--seed", str(seed)] + (["--profile"] if args.profile else []) + (["--logs"] if args.logs else [])
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TOMODACHI_", "PYTEST"))}
    started = time.perf_counter()
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=1800)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"the benchmark run failed (exit {done.returncode}):\n{done.stdout[-5000:]}\n{done.stderr[-5000:]}")
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    result["process_seconds"] = wall
    return result


def percentile(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * len(values)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=TARGET_EXAMPLES, help="hypothesis examples per run")
    parser.add_argument("--reps", type=int, default=3, help="runs, each in a fresh interpreter")
    parser.add_argument("--seed", type=int, default=0, help="hypothesis seed of the first run (then +1 per run)")
    parser.add_argument("--profile", action="store_true", help="cProfile the runs and print the top costs")
    parser.add_argument("--logs", action="store_true", help="let handler-error logs reach stderr (default: drop)")
    parser.add_argument("--json", type=Path, help="also write every run's figures to this file")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.examples < 1 or args.reps < 1:
        parser.error("--examples and --reps must be at least 1")

    if args.child:
        print(json.dumps(child(args.examples, args.seed, args.profile, args.logs)))
        return

    runs = []
    for rep in range(args.reps):
        run = run_child(args, args.seed + rep)
        runs.append(run)
        print(
            f"run {rep + 1}/{args.reps} (hypothesis seed {args.seed + rep}): {run['examples']} examples in "
            f"{run['seconds']:.2f} s ({run['examples'] / run['seconds']:.1f} examples/s); "
            f"process {run['process_seconds']:.2f} s",
            file=sys.stderr,
            flush=True,
        )

    seconds = statistics.median(run["seconds"] for run in runs)
    process = statistics.median(run["process_seconds"] for run in runs)
    examples = runs[0]["examples"]
    example_ms = sorted(ms for run in runs for ms in run["example_ms"])
    tally: Counter[str] = Counter()
    for run in runs:
        tally.update(run["tally"])
    cpus = os.cpu_count()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")

    print(f"\nshop under random fault plans: {examples} examples, median of {len(runs)} run(s)")
    print(f"machine: {cpus} CPU cores, Python {sys.version.split()[0]}, load average (1 min) {load:.2f}")
    print("| metric | value |")
    print("|---|---:|")
    print(f"| hypothesis run, wall s | {seconds:.2f} |")
    print(f"| examples/s | {examples / seconds:.1f} |")
    print(f"| whole process (start, imports, run), wall s | {process:.2f} |")
    print(f"| one example (asyncio.run of the shop), median ms | {statistics.median(example_ms):.1f} |")
    print(f"| one example, p95 ms | {percentile(example_ms, 0.95):.1f} |")
    print(f"| one example, max ms | {example_ms[-1]:.1f} |")
    share = sum(example_ms) / 1000 / sum(run["seconds"] for run in runs)
    print(f"| share of the run inside the examples | {100 * share:.0f} % |")
    per_run = {key: value / len(runs) for key, value in sorted(tally.items())}
    print("\nper run: " + ", ".join(f"{key} {value:g}" for key, value in per_run.items()))
    if args.examples == TARGET_EXAMPLES:
        verdict = "met" if process < TARGET_SECONDS else "NOT met"
        print(f"target: {TARGET_EXAMPLES} examples in under {TARGET_SECONDS:g} s end to end: {verdict}")
    if args.profile:
        for key in ("cumulative", "tottime"):
            print(f"\ncProfile of run 1, top by {key}:\n{runs[0]['profile'][key]}")
    if args.json:
        args.json.write_text(json.dumps({"args": vars(args) | {"json": str(args.json)}, "runs": runs}, indent=1))


if __name__ == "__main__":
    main()
