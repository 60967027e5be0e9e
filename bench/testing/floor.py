"""Floors for the messages/s target (issue 11: ≥ 100× FastStream's TestRabbitBroker through ``settle()``): what the
least per-message work of a JsonBase round trip costs on this interpreter, beside the real publish + settle.

Cases (per message; a-d drive the coroutines by hand, ``coro.send(None)`` until StopIteration, with no event loop):
  a. ``JsonBase.build_message(service, "bench.key", {"n": i})`` alone
  b. ``JsonBase.parse_message(text)`` alone (a pool of 1,000 built texts, parsed round-robin)
  c. a + b + a trivial ``async def handler(data): sink.append(data)`` called inline: the least any honest
     in-memory test broker must do per message
  d. c through an asyncio Task per message on one event loop: all created, then awaited in order (the cheaper way:
     awaiting each task as it is made costs ~30 % more); the least a broker spending a task per message pays
  e. the real thing, as run.py's messages case: ``system(Sink)``, ``await fake_amqp.publish(...)`` each, ``settle()``

`.venv/bin/python bench/testing/floor.py [--messages 20000] [--repeats 5] [--callgrind] [--json out.json]`"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))
import bench_services  # noqa: E402

from tomodachi.envelope.json_base import JsonBase  # noqa: E402

ROUTING_KEY = "bench.key"
POOL = 1_000  # case b parses this many distinct texts round-robin (built once, outside the timing)
# FastStream 0.7.8's TestRabbitBroker as run.py measured it on this machine; 100× of each is the per-message budget
FASTSTREAM_MSG_S = (1_200.0, 869.0)
BUDGETS_US = tuple(1e6 / (100 * rate) for rate in FASTSTREAM_MSG_S)  # 8.33 µs, 11.51 µs

LABELS = {
    "a": "a. JsonBase.build_message alone",
    "b": "b. JsonBase.parse_message alone",
    "c": "c. build + parse + handler, inline",
    "d": "d. c through a Task per message",
    "e": "e. system(Sink): publish + settle",
}


# what build_message reads of a service instance: its name and uuid
SERVICE = SimpleNamespace(name="sink", uuid="0b5f3c0e-8a57-4c39-9a7e-2a5d1f9e6c41")


def case_a(n: int) -> float:
    build, service = JsonBase.build_message, SERVICE
    started = time.perf_counter()
    for i in range(n):
        try:
            build(service, ROUTING_KEY, {"n": i}).send(None)
        except StopIteration:
            pass
    return time.perf_counter() - started


def _texts(count: int) -> list[str]:
    texts = []
    for i in range(count):
        try:
            JsonBase.build_message(SERVICE, ROUTING_KEY, {"n": i}).send(None)
        except StopIteration as done:
            texts.append(done.value)
    return texts


def case_b(n: int) -> float:
    parse, texts = JsonBase.parse_message, itertools.islice(itertools.cycle(_texts(POOL)), n)
    started = time.perf_counter()
    for text in texts:
        try:
            parse(text).send(None)
        except StopIteration:
            pass
    return time.perf_counter() - started


def _check(sink: list[Any], n: int) -> None:
    if len(sink) != n or sink[-1] != {"n": n - 1}:
        raise RuntimeError(f"the handler got {len(sink)} of {n} messages")


def case_c(n: int) -> float:
    build, parse, service = JsonBase.build_message, JsonBase.parse_message, SERVICE
    sink: list[Any] = []

    async def handler(data: Any) -> None:
        sink.append(data)

    text: str = ""
    parsed: dict[str, Any] = {}
    started = time.perf_counter()
    for i in range(n):
        try:
            build(service, ROUTING_KEY, {"n": i}).send(None)
        except StopIteration as done:
            text = done.value
        try:
            parse(text).send(None)
        except StopIteration as done:
            parsed = done.value[0]
        try:
            handler(parsed["data"]).send(None)
        except StopIteration:
            pass
    elapsed = time.perf_counter() - started
    _check(sink, n)
    return elapsed


def case_d(n: int) -> float:
    build, parse, service = JsonBase.build_message, JsonBase.parse_message, SERVICE
    sink: list[Any] = []

    async def handler(data: Any) -> None:
        sink.append(data)

    async def deliver(i: int) -> None:
        parsed, _, _ = await parse(await build(service, ROUTING_KEY, {"n": i}))
        await handler(parsed["data"])

    async def main() -> float:
        create = asyncio.get_running_loop().create_task
        started = time.perf_counter()
        tasks = [create(deliver(i)) for i in range(n)]  # every publish makes its task, settle() awaits them all
        for task in tasks:
            await task
        return time.perf_counter() - started

    elapsed = asyncio.run(main())
    _check(sink, n)
    return elapsed


def case_e(n: int) -> float:
    from tomodachi.testing import system

    async def main() -> float:
        async with system(bench_services.Sink) as shop:
            fake = shop.fake_amqp
            received = shop.service("sink").instance.received
            started = time.perf_counter()
            for i in range(n):
                await fake.publish(ROUTING_KEY, {"n": i})
            await fake.settle()
            elapsed = time.perf_counter() - started
            _check(received, n)
        return elapsed

    return asyncio.run(main())


CASES: dict[str, Callable[[int], float]] = {"a": case_a, "b": case_b, "c": case_c, "d": case_d, "e": case_e}


def best_us(case: str, n: int, repeats: int) -> list[float]:
    """µs per message of each repeat (after one warm-up run), in this process."""
    CASES[case](min(n, 500))  # warm-up: lazy imports, first-call caches
    samples = []
    for _ in range(repeats):
        gc.collect()
        samples.append(CASES[case](n) / n * 1e6)
    return samples


def instructions(case: str, n: int, folder: Path) -> int:
    """Instructions of a whole fresh process running ``case`` once with ``n`` messages, under callgrind."""
    out = folder / f"callgrind.{case}.{n}.out"
    command = [sys.executable, __file__, "--worker", case, "--messages", str(n)]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TOMODACHI_", "PYTHON"))} | {"PYTHONHASHSEED": "0"}
    subprocess.run(command, check=True, capture_output=True, cwd=REPO, env=env)  # first: bytecode caches written
    command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", *command]
    subprocess.run(command, check=True, capture_output=True, cwd=REPO, env=env, timeout=3600)
    found = re.search(r"^(?:summary|totals):\s+(\d+)", out.read_text(errors="replace"), re.MULTILINE)
    if found is None:
        raise RuntimeError(f"no totals in {out}")
    return int(found.group(1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--messages", type=int, default=20_000, help="messages per timed run (default 20,000)")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per case; the best is reported")
    parser.add_argument("--cases", default="abcde", help="which cases, e.g. 'ace' (default all)")
    parser.add_argument("--callgrind", action="store_true", help="also count instructions per message (valgrind)")
    parser.add_argument("--sizes", default="1000,3000", help="the two run sizes of --callgrind (default 1000,3000)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--worker", choices=sorted(CASES), help=argparse.SUPPRESS)  # one run under callgrind
    args = parser.parse_args()
    if args.worker:
        CASES[args.worker](args.messages)
        return 0
    cases = [case for case in args.cases if case in CASES]
    small, large = (int(size) for size in args.sizes.split(","))
    if args.callgrind and shutil.which("valgrind") is None:
        parser.error("--callgrind needs valgrind")

    results: dict[str, dict[str, Any]] = {}
    for case in cases:
        print(f"{LABELS[case]} ...", file=sys.stderr, flush=True)
        samples = best_us(case, args.messages, args.repeats)
        best = min(samples)
        results[case] = {"label": LABELS[case], "us_per_message": best, "msg_per_s": 1e6 / best, "samples_us": samples}
    if args.callgrind:
        with tempfile.TemporaryDirectory() as name:
            for case in cases:
                print(f"callgrind {case}: {small:,} and {large:,} messages ...", file=sys.stderr, flush=True)
                counts = [instructions(case, n, Path(name)) for n in (small, large)]
                results[case]["instructions_per_message"] = (counts[1] - counts[0]) / (large - small)

    load = os.getloadavg()[0]
    print(
        f"\nper message, best of {args.repeats} × {args.messages:,} messages, python {sys.version.split()[0]}, "
        f"load average {load:.2f} on {os.cpu_count()} CPUs"
    )
    pairs = zip(BUDGETS_US, FASTSTREAM_MSG_S, strict=True)
    budgets = " | ".join(f"share of {b:.1f} µs ({r:,.0f} msg/s × 100)" for b, r in pairs)
    counted = f" | instructions ({large:,} − {small:,} msgs)" if args.callgrind else ""
    print(f"\n| case | µs/message | {budgets} | msg/s{counted} |")
    print("|---|---:|---:|---:|---:|" + ("---:|" if args.callgrind else ""))
    for row in results.values():
        us = row["us_per_message"]
        shares = " | ".join(f"{us / budget:.0%}" for budget in BUDGETS_US)
        count = f" | {row['instructions_per_message']:,.0f}" if "instructions_per_message" in row else ""
        print(f"| {row['label']} | {us:.2f} | {shares} | {row['msg_per_s']:,.0f}{count} |")
    if args.json:
        sizes = [small, large] if args.callgrind else None
        out = {"python": sys.version.split()[0], "load_average": load, "messages": args.messages}
        out |= {"repeats": args.repeats, "callgrind_sizes": sizes, "faststream_msg_per_s": FASTSTREAM_MSG_S}
        args.json.write_text(json.dumps(out | {"budgets_us": BUDGETS_US, "cases": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
