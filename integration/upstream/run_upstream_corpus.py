"""Run upstream tomodachi's own corpus (its example and test service files, and its test suite) against OUR
package, and report what fails and why.

Not a pytest file (pytest does not collect ``run_*.py``). Usage::

    .venv/bin/python integration/upstream/run_upstream_corpus.py --upstream /tmp/upstream-tomodachi \\
        [--moto-url http://127.0.0.1:PORT] [--only examples|services|suite] [--extra-site DIR]

Phases:

a. every service-like ``.py`` under ``examples/`` and ``tests/services/`` is run with our
   ``tomodachi run --production <file>`` (cwd: the checkout root, as upstream's tests and READMEs do; the docker
   example inside its app dir), AWS settings pointed at a moto server, for a bounded time, then SIGINT;
b. upstream's ``tests/`` is run file by file with our package (upstream's ``tomodachi/`` is never copied into
   the staged checkout, and a guard plugin fails the run unless ``tomodachi`` is ``/work/main/tomodachi``), in
   up to three passes: ``as-is``; ``otel-stub`` (no-op stand-ins for the ``tomodachi.opentelemetry`` names
   upstream's conftest imports in an autouse fixture); ``otel-stub+helper-adapter`` (also upstream's
   ``run_test_service_helper.start_service`` re-expressed on our Launcher). The later passes are diagnostics
   only: they show what fails once the first blocker is out of the way;
c. summary tables on stdout; full logs, pytest output, JUnit XML and JSON results under ``--out``.

``--extra-site DIR`` appends DIR to the END of ``sys.path`` of every child process (via a generated
``sitecustomize.py``), for third-party packages upstream's tests import that our package does not depend on
(pytz, opentelemetry-sdk, opentelemetry-instrumentation), e.g. prepared with
``.venv/bin/pip install --target DIR pytz opentelemetry-sdk opentelemetry-instrumentation``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus_common import (  # noqa: E402
    MotoServer,
    check_tomodachi_resolution,
    log,
    service_env,
    stage_upstream,
    suite_env,
)
from corpus_services import ServiceResult, discover, run_one  # noqa: E402
from corpus_suite import PASSES, FileRun, probe_helper, run_pass, summarize, write_hooks  # noqa: E402


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--upstream", required=True, type=Path, help="a checkout of kalaspuff/tomodachi")
    parser.add_argument("--upstream-commit", default="", help="label for the report (default: git rev-parse)")
    parser.add_argument("--moto-url", default=None, help="use this moto server instead of starting one")
    parser.add_argument("--only", choices=("examples", "services", "suite"), default=None)
    parser.add_argument("--out", type=Path, default=Path("/tmp/upstream-corpus-out"))
    parser.add_argument("--service-seconds", type=float, default=15.0, help="bound per service file")
    parser.add_argument("--per-test-timeout", type=float, default=90.0, help="limit per test phase (s)")
    parser.add_argument("--passes", default=",".join(PASSES), help=f"comma list of {', '.join(PASSES)}")
    parser.add_argument("--files", default="", help="comma list of substrings: only these suite/service files")
    parser.add_argument("--extra-site", action="append", default=[], help="appended to sys.path of children")
    args = parser.parse_args(argv)
    unknown = [p for p in args.passes.split(",") if p and p not in PASSES]
    if unknown:
        parser.error(f"unknown pass(es): {unknown}")
    if not (args.upstream / "tests" / "conftest.py").is_file():
        parser.error(f"{args.upstream} does not look like an upstream tomodachi checkout")
    return args


def upstream_commit(path: Path, given: str) -> str:
    if given:
        return given
    try:
        out = subprocess.run(
            ["git", "-C", str(path), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=30, check=False
        )
        if out.returncode == 0:
            return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return "unknown (not a git work tree; pass --upstream-commit)"


def our_state() -> str:
    """Our repository's HEAD and whether tomodachi/ has uncommitted changes (the package may move under a run)."""
    from corpus_common import REPO_ROOT

    try:
        head = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=30
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "status", "--porcelain", "--", "tomodachi"],
            capture_output=True,
            text=True,
            timeout=30,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError) as exc:
        return f"unknown ({exc})"
    return f"{head}{' + uncommitted changes in tomodachi/' if dirty else ''}"


def table(rows: list[list[str]], headers: list[str]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows, strict=False)]
    lines = [" | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=False))]
    lines.append("-+-".join("-" * w for w in widths))
    lines += [" | ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=False)) for row in rows]
    return "\n".join(lines)


def run_services(args: argparse.Namespace, stage: Path, env: dict[str, str], moto: MotoServer) -> list[ServiceResult]:
    moto.reset()
    (args.out / "services").mkdir(parents=True, exist_ok=True)
    filters = [f for f in args.files.split(",") if f]
    results: list[ServiceResult] = []
    for rel, cwd, arg in discover(stage):
        if args.only == "examples" and not rel.startswith("examples/"):
            continue
        if args.only == "services" and not rel.startswith("tests/services/"):
            continue
        if filters and not any(f in rel for f in filters):
            continue
        result = run_one(rel, cwd, arg, env, args.service_seconds, args.out / "services")
        code = "" if result.exit_code is None else f" rc={result.exit_code}"
        log(f"service {rel}: {result.status}{code} ({result.seconds:.1f} s) {'; '.join(result.problems)[:200]}")
        results.append(result)
    return results


def print_services(results: list[ServiceResult]) -> None:
    print("\n== (a) service files: our `tomodachi run --production <file>` ==")
    rows = []
    for r in results:
        rc = "" if r.exit_code is None else str(r.exit_code)
        rows.append([r.path, r.status, rc, r.error[:110], "; ".join(r.problems)[:160]])
    print(table(rows, ["file", "status", "rc", "first error line", "expectation problems"]))
    counts = Counter(r.status for r in results)
    unmet = sum(1 for r in results if any(p.startswith(("MISSING", "UNEXPECTED")) for p in r.problems))
    print(
        f"\nservice files: {len(results)} run; started={counts['started']} failed={counts['failed']} "
        f"exited={counts['exited']}; with unmet expectations: {unmet}"
    )


def print_probe(rows: list[dict[str, object]]) -> None:
    print("\n== what upstream's tests/run_test_service_helper.py needs from our package ==")
    print(
        table(
            [["ok" if r["ok"] else "MISSING", str(r["check"]), str(r["detail"])[:120]] for r in rows],
            ["", "check", "detail"],
        )
    )


def print_pass(name: str, runs: list[FileRun]) -> None:
    print(f"\n== (b) upstream test suite, pass '{name}' ==")
    rows = []
    for run in runs:
        c = Counter(o.outcome for o in run.outcomes)
        note = run.collection_error[:120] if run.collection_error and not run.outcomes else ""
        rows.append(
            [run.file, str(len(run.outcomes)), str(run.static_tests), str(c["passed"]), str(c["failed"]),
             str(c["error"]), str(c["skipped"]), str(c["timeout"]), note]
        )  # fmt: skip
    print(table(rows, ["file", "coll", "static", "pass", "fail", "err", "skip", "t/o", "not collected because"]))
    print("\nfailing tests (first line of the failure):")
    for run in runs:
        for o in run.outcomes:
            if o.outcome not in ("passed", "skipped"):
                print(f"  {o.outcome.upper():7} {o.nodeid}: {o.message}")
    groups: dict[str, list[str]] = defaultdict(list)
    for run in runs:
        if run.collection_error and not run.outcomes:
            groups[f"[not collected] {run.collection_error}"].append(f"{run.file} ({run.static_tests} tests)")
        for o in run.outcomes:
            if o.outcome not in ("passed", "skipped"):
                groups[o.message].append(o.nodeid)
    print("\ngrouped by identical first line (most affected first):")
    for message, items in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        print(f"  {len(items):4} x {message[:200]}\n         e.g. {', '.join(items[:2])}")
    counts = summarize(runs)
    print(f"\npass '{name}' totals: " + ", ".join(f"{k}={v}" for k, v in counts.items()))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    upstream = args.upstream.resolve()
    commit = upstream_commit(upstream, args.upstream_commit)
    stage = stage_upstream(upstream, args.out / "stage")
    hooks = write_hooks(args.out / "hooks")
    extra_site = [str(Path(p).resolve()) for p in args.extra_site]
    moto = MotoServer(args.moto_url, args.out)
    ours_before = our_state()
    summary: dict[str, object] = {"upstream": str(upstream), "commit": commit, "ours_at_start": ours_before}
    try:
        moto_url = moto.start()
        s_env = service_env(moto_url, hooks, extra_site)
        t_env = suite_env(moto_url, hooks, extra_site)
        location = check_tomodachi_resolution(stage, t_env)
        log(f"upstream {upstream} at {commit}; tomodachi resolves to {location}")
        service_results: list[ServiceResult] = []
        if args.only in (None, "examples", "services"):
            service_results = run_services(args, stage, s_env, moto)
            summary["services"] = [r.__dict__ for r in service_results]
        probe: list[dict[str, object]] = []
        pass_runs: dict[str, list[FileRun]] = {}
        if args.only in (None, "suite"):
            probe = probe_helper(stage, t_env)
            filters = [f for f in args.files.split(",") if f] or None
            for name in [p for p in args.passes.split(",") if p]:
                moto.reset()
                pass_runs[name] = run_pass(
                    name, stage, hooks, t_env, args.out / "suite", args.per_test_timeout, filters
                )
            summary["probe"] = probe
            summary["suite"] = {name: summarize(runs) for name, runs in pass_runs.items()}
    finally:
        moto.stop()
    ours_after = our_state()
    summary["ours_at_end"] = ours_after
    print(f"upstream: {upstream} @ {commit}")
    print(f"ours: {ours_before} at start, {ours_after} at end")
    if ours_before != ours_after:
        print("WARNING: our package changed during the run; results mix both states")
    if service_results:
        print_services(service_results)
    if probe:
        print_probe(probe)
    for name, runs in pass_runs.items():
        print_pass(name, runs)
    if pass_runs or service_results:
        print("\n== summary ==")
        rows = []
        if service_results:
            c = Counter(r.status for r in service_results)
            rows.append(
                [
                    "service files",
                    str(len(service_results)),
                    f"started={c['started']} failed={c['failed']} exited={c['exited']}",
                ]
            )
        for name, runs in pass_runs.items():
            t = summarize(runs)
            rows.append([f"suite: {name}", str(t["collected"]), ", ".join(f"{k}={v}" for k, v in t.items() if k != "collected")])  # fmt: skip
        print(table(rows, ["what", "n", "outcome"]))
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1, default=str), encoding="utf-8")
    print(f"\nlogs and JSON results: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
