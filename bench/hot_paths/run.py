"""Hot-path benchmark: AMQP publish/consume and HTTP req/s, ours vs upstream 0.29.0 vs aioamqp/aiohttp."""

# Run with the project's interpreter: `.venv/bin/python bench/hot_paths/run.py [--quick] [--only amqp|consume|http]
# [--out results.md] [--json results.json]`. Upstream tomodachi is installed only into its own virtualenv (default
# /tmp/bench-upstream-venv), created on first use. Needs RabbitMQ (default 127.0.0.1:5672 guest/guest) and wrk.
# See README.md in this folder.

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from hot_cases import AMQP_CASES, HTTP_CASES, AmqpCase, HttpCase, Settings, run_amqp_case, run_http_case  # noqa: E402
from hot_harness import (  # noqa: E402
    REPO,
    Contender,
    Rabbit,
    ensure_upstream_venv,
    http_cpus,
    log,
    prepare_workdir,
    versions,
)
from hot_report import CaseResult, markdown_report  # noqa: E402

UPSTREAM_VERSION = "0.29.0"
DEFAULT_UPSTREAM_VENV = Path("/tmp/bench-upstream-venv")
GROUPS = ("amqp", "consume", "http")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, epilog="See bench/hot_paths/README.md.")
    parser.add_argument("--quick", action="store_true", help="smoke test: 2,000 messages, 1 repeat, 1 s wrk runs")
    parser.add_argument(
        "--only",
        action="append",
        choices=GROUPS,
        help="run only this group: amqp (publisher → consumer), consume (consumer only), http; repeatable",
    )
    parser.add_argument("--case", action="append", default=[], help="run only this case key (repeatable)")
    parser.add_argument("--list", action="store_true", help="list the case keys and exit")
    parser.add_argument("--repeat", type=int, default=None, help="runs per contender and case, median (default 3)")
    parser.add_argument("--messages", type=int, default=None, help="messages per AMQP run (default 20,000)")
    parser.add_argument("--publishers", type=int, default=20, help="coroutines of the concurrent case (default 20)")
    parser.add_argument("--duration", type=int, default=None, help="seconds per measured wrk run (default 5)")
    parser.add_argument("--warmup", type=int, default=1, help="seconds of the wrk warm-up per server (default 1)")
    parser.add_argument("--connections", type=int, default=50, help="wrk -c (default 50)")
    parser.add_argument("--threads", type=int, default=1, help="wrk -t (default 1)")
    parser.add_argument(
        "--no-pin",
        action="store_true",
        help="HTTP: let servers and wrk share every CPU (default: each server alone on the last CPU, wrk on the rest)",
    )
    parser.add_argument("--upstream-venv", type=Path, default=DEFAULT_UPSTREAM_VENV)
    parser.add_argument("--skip-upstream", action="store_true", help="ours and the raw libraries only")
    parser.add_argument("--amqp-host", default=os.environ.get("BENCH_AMQP_HOST", "127.0.0.1"))
    parser.add_argument("--amqp-port", type=int, default=int(os.environ.get("BENCH_AMQP_PORT", "5672")))
    parser.add_argument("--amqp-login", default=os.environ.get("BENCH_AMQP_LOGIN", "guest"))
    parser.add_argument("--amqp-password", default=os.environ.get("BENCH_AMQP_PASSWORD", "guest"))
    parser.add_argument("--out", type=Path, help="also write the Markdown report to this file")
    parser.add_argument("--json", type=Path, help="also write every sample and the environment as JSON")
    parser.add_argument("--keep-workdir", action="store_true", help="keep the temporary folder with the logs")
    args = parser.parse_args(argv)
    quick = {"repeat": 1, "messages": 2000, "duration": 1}
    full = {"repeat": 3, "messages": 20000, "duration": 5}
    for key, value in (quick if args.quick else full).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    return args


def select_cases(args: argparse.Namespace) -> list[AmqpCase | HttpCase]:
    every: list[AmqpCase | HttpCase] = [*AMQP_CASES, *HTTP_CASES]
    keys = {key for value in args.case for key in value.split(",") if key}
    unknown = keys - {case.key for case in every}
    if unknown:
        raise SystemExit(f"unknown case(s): {', '.join(sorted(unknown))} (see --list)")
    groups = set(args.only or GROUPS)
    chosen = [case for case in every if (case.group if isinstance(case, AmqpCase) else "http") in groups]
    return [case for case in chosen if not keys or case.key in keys]


def git_revision() -> str:
    try:
        head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
        dirty = subprocess.run(["git", "-C", str(REPO), "diff", "--quiet", "HEAD", "--", "tomodachi"])
    except OSError:
        return "?"
    return head.stdout.strip() + (" + uncommitted changes in tomodachi/" if dirty.returncode == 1 else "")


def tool_version(command: list[str]) -> str:
    try:
        found = subprocess.run(command, capture_output=True, text=True)
    except OSError:
        return "missing"
    return (found.stdout or found.stderr).strip().splitlines()[0] if (found.stdout or found.stderr) else "?"


def describe(found: dict[str, Any]) -> str:
    return ", ".join(
        f"{key} {found.get(key) or '—'}" for key in ("tomodachi", "aiohttp", "aioamqp", "uvloop", "python")
    )


async def run_cases(args: argparse.Namespace, cases: list[AmqpCase | HttpCase], contenders: list[Contender],
                    workdir: Path, environment: dict[str, Any]) -> list[CaseResult]:  # fmt: skip
    rabbit = Rabbit(args.amqp_host, args.amqp_port, args.amqp_login, args.amqp_password)
    needs_amqp = any(isinstance(case, AmqpCase) for case in cases)
    if needs_amqp:
        await rabbit.open()
        environment["RabbitMQ"] = f"{rabbit.server_version} at {args.amqp_host}:{args.amqp_port}"
    settings = Settings(
        workdir=workdir,
        rabbit=rabbit,
        amqp_env={
            "BENCH_AMQP_HOST": args.amqp_host,
            "BENCH_AMQP_PORT": str(args.amqp_port),
            "BENCH_AMQP_LOGIN": args.amqp_login,
            "BENCH_AMQP_PASSWORD": args.amqp_password,
        },
        queue=f"bench-hot-paths-{os.getpid()}",
        routing_key=f"bench.hot_paths.{os.getpid()}",
        messages=args.messages,
        publishers=args.publishers,
        repeat=args.repeat,
        duration=args.duration,
        warmup=args.warmup,
        connections=args.connections,
        threads=args.threads,
        pin=not args.no_pin,
    )
    results = []
    try:
        for case in cases:
            if isinstance(case, AmqpCase):
                results.append(await run_amqp_case(case, contenders, settings))
            else:
                results.append(await run_http_case(case, contenders, settings))
    finally:
        if needs_amqp:
            await rabbit.close()
    return results


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    cases = select_cases(args)
    if args.list:
        every: list[AmqpCase | HttpCase] = [*AMQP_CASES, *HTTP_CASES]
        for case in every:
            print(f"{case.key:28} {case.label.format(n=f'{args.messages:,}', p=args.publishers)}")
        return 0
    if shutil.which("wrk") is None and any(isinstance(case, HttpCase) for case in cases):
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    ours_python = Path(sys.executable)
    if not (ours_python.parent / "tomodachi").exists():
        raise SystemExit(f"run me with the project's venv interpreter (no tomodachi CLI next to {ours_python})")
    ours_versions = versions(ours_python)
    contenders = [Contender("ours", ours_python, str(REPO / "tomodachi"))]
    environment: dict[str, Any] = {
        "command": " ".join([Path(sys.argv[0]).name, *(argv if argv is not None else sys.argv[1:])]),
        "ours": f"{describe(ours_versions)} (git {git_revision()})",
    }
    if not args.skip_upstream:
        pins = {name: ours_versions.get(name) for name in ("aiohttp", "aioamqp", "uvloop")}
        upstream_python = ensure_upstream_venv(args.upstream_venv, UPSTREAM_VERSION, pins)
        upstream_versions = versions(upstream_python)
        venv = str(args.upstream_venv.absolute())
        contenders.append(Contender("upstream", upstream_python, venv))
        environment["upstream"] = f"{describe(upstream_versions)} ({venv})"
        different = [k for k in ("aiohttp", "aioamqp", "uvloop", "python") if ours_versions[k] != upstream_versions[k]]
        if different:
            environment["warning"] = f"ours and upstream differ in {', '.join(different)}"
    contenders.append(Contender("raw", ours_python))
    environment["raw"] = f"aiohttp {ours_versions['aiohttp']}, aioamqp {ours_versions['aioamqp']} (our venv)"
    environment["wrk"] = f"{tool_version(['wrk', '-v'])}; -t{args.threads} -c{args.connections} -d{args.duration}s"
    server_cpus, wrk_cpus = http_cpus()
    pinning = (
        f"HTTP servers pinned to CPU {','.join(map(str, sorted(server_cpus)))}, wrk to {','.join(map(str, sorted(wrk_cpus)))}"
        if server_cpus and not args.no_pin
        else "nothing pinned"
    )
    environment["machine"] = f"{platform.platform()}, {os.cpu_count()} CPUs, {pinning}"
    environment["runs"] = f"median of {args.repeat}; {args.messages:,} messages per AMQP run"
    environment["load average before"] = " ".join(f"{x:.2f}" for x in os.getloadavg())

    workdir = Path(tempfile.mkdtemp(prefix="tomodachi-bench-hot-"))
    prepare_workdir(workdir)
    started = time.monotonic()
    try:
        results = asyncio.run(run_cases(args, cases, contenders, workdir, environment))
    finally:
        if args.keep_workdir:
            log(f"logs kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    environment["load average after"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    environment["wall time"] = f"{time.monotonic() - started:.0f} s"

    report = markdown_report(results, environment)
    print(report)
    if args.out:
        args.out.write_text(report)
    if args.json:
        data = {"environment": environment, "cases": [result.as_json() for result in results]}
        args.json.write_text(json.dumps(data, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
