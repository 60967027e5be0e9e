"""Startup benchmark: `import tomodachi` time and `tomodachi run` → first HTTP 200, ours vs upstream 0.29.0 vs aiohttp.

Run with the project's interpreter: `.venv/bin/python bench/startup/run.py`. Upstream tomodachi is installed only
into its own virtualenv (default `.bench/venv-upstream`, gitignored), created on first use.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEFAULT_UPSTREAM_VENV = REPO / ".bench" / "venv-upstream"
UPSTREAM_VERSION = "0.29.0"
READY_TIMEOUT = 30.0

# targets from the issue
TARGET_READY_VS_AIOHTTP = 1.1
TARGET_IMPORT_VS_UPSTREAM = 0.5

# the same service code runs on both tomodachi builds
TOMODACHI_SERVICE = """
import os

import tomodachi


class Service(tomodachi.Service):
    name = "bench"
    options = tomodachi.Options(http=tomodachi.Options.HTTP(host="127.0.0.1", port=int(os.environ["BENCH_PORT"])))

    @tomodachi.http("GET", r"/")
    async def index(self, request):
        return "ok"
"""

AIOHTTP_APP = """
import os

from aiohttp import web


async def index(request):
    return web.Response(text="ok")


app = web.Application()
app.router.add_get("/", index)
web.run_app(app, host="127.0.0.1", port=int(os.environ["BENCH_PORT"]), print=None)
"""

IMPORT_PROBE = "import time; t = time.perf_counter(); import tomodachi; print(time.perf_counter() - t)"


@dataclass
class Contender:
    """One thing to start. Every contender runs as `python -S` with an explicit PYTHONPATH: no site processing,
    so a development venv's `.pth` hooks (editable-install finder, distutils shim: ~20 ms) do not skew the race."""

    name: str
    python: Path  # interpreter of the contender's virtualenv
    pythonpath: str  # what site processing would have put on sys.path (plus the source tree for ours)
    args: list[str]  # after `python -S`: how its HTTP service is started (from the bench's temporary folder)

    def interpreter(self) -> list[str]:
        return [str(self.python), "-S"]

    def command(self) -> list[str]:
        return [*self.interpreter(), *self.args]

    def env(self, **extra: str) -> dict[str, str]:
        return clean_env(PYTHONPATH=self.pythonpath, **extra)


def library_paths(python: Path, *extra: Path) -> str:
    """The site-packages folders of ``python``'s environment, as a PYTHONPATH string."""
    probe = "import sysconfig; p = sysconfig.get_paths(); print(p['purelib']); print(p['platlib'])"
    out = subprocess.run(
        [str(python), "-c", probe], capture_output=True, text=True, check=True, cwd=tempfile.gettempdir()
    )
    paths = [str(path) for path in extra] + list(dict.fromkeys(out.stdout.split()))
    return os.pathsep.join(paths)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def ensure_upstream_venv(venv: Path) -> Path:
    """Create ``venv`` with upstream tomodachi installed (once); return its interpreter."""
    python = venv / "bin" / "python"
    probe = [str(python), "-I", "-c", "import tomodachi; print(tomodachi.__version__)"]
    if python.exists():
        found = subprocess.run(probe, capture_output=True, text=True, cwd=tempfile.gettempdir())
        if found.returncode == 0 and found.stdout.strip() == UPSTREAM_VERSION:
            return python
    log(f"creating {venv} with tomodachi=={UPSTREAM_VERSION} from PyPI ...")
    subprocess.run(["python3", "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            f"tomodachi=={UPSTREAM_VERSION}",
        ],
        check=True,
    )
    return python


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http_ok(port: int) -> bool:
    """One GET / on 127.0.0.1:port; True on a 200 response."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            status = sock.recv(64)
    except OSError:
        return False
    return status.startswith(b"HTTP/1.1 200") or status.startswith(b"HTTP/1.0 200")


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TOMODACHI_", "PYTHON"))}
    env.update(extra)
    return env


def time_import(contender: Contender, workdir: Path) -> float:
    """Seconds spent in `import tomodachi` in a fresh interpreter."""
    result = subprocess.run(
        [*contender.interpreter(), "-c", IMPORT_PROBE],
        env=contender.env(),
        capture_output=True,
        text=True,
        cwd=workdir,
        timeout=60,
        check=True,
    )
    return float(result.stdout.strip().splitlines()[-1])


def time_ready(contender: Contender, workdir: Path) -> float:
    """Seconds from process start to the first HTTP 200 on its port."""
    port = free_port()
    started = time.perf_counter()
    proc = subprocess.Popen(
        contender.command(),
        cwd=workdir,
        env=contender.env(BENCH_PORT=str(port)),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline = started + READY_TIMEOUT
        while not http_ok(port):
            if proc.poll() is not None:
                stderr = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
                raise RuntimeError(f"{contender.name} exited with {proc.returncode} before serving:\n{stderr}")
            if time.perf_counter() > deadline:
                raise RuntimeError(f"{contender.name} did not answer 200 within {READY_TIMEOUT}s")
            time.sleep(0.001)  # a benchmark poll, not a test: 1 ms granularity
        return time.perf_counter() - started
    finally:
        stop(proc)


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
    if proc.stderr is not None:
        proc.stderr.close()


# what a `tomodachi run` of the HTTP service imports on top of aiohttp.web (which the raw app pays too)
OVERHEAD_PROBE = (
    "import aiohttp.web; import tomodachi.cli, tomodachi.logging, tomodachi.options, tomodachi.runtime.launcher, "
    "tomodachi.transport.http.transport"
)


def import_overhead(contender: Contender, workdir: Path, top: int = 10) -> list[tuple[str, float]]:
    """Top-level modules (tomodachi.* and third-party) imported after aiohttp.web, by cumulative ms (-X importtime)."""
    result = subprocess.run(
        [*contender.interpreter(), "-X", "importtime", "-c", OVERHEAD_PROBE],
        env=contender.env(),
        capture_output=True,
        text=True,
        cwd=workdir,
        timeout=60,
        check=True,
    )
    lines = result.stderr.splitlines()
    after = next(i for i, line in enumerate(lines) if line.rstrip().endswith("| aiohttp.web"))
    costs: list[tuple[str, float]] = []
    for line in lines[after + 1 :]:
        parts = line.split("|")
        if len(parts) != 3 or not parts[1].strip().isdigit():
            continue
        name = parts[2].rstrip()
        depth = (len(name) - len(name.lstrip())) // 2
        if depth <= 1:  # the module imported directly, or its first level of imports
            costs.append((name.strip(), int(parts[1]) / 1000))
    return sorted(costs, key=lambda item: -item[1])[:top]


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}x" if a is not None and b else "-"


def fmt(value: float | None) -> str:
    return f"{value:8.1f}" if value is not None else "       -"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--import-runs", type=int, default=15, help="fresh interpreters per import measurement")
    parser.add_argument("--ready-runs", type=int, default=9, help="service starts per ready measurement")
    parser.add_argument("--upstream-venv", type=Path, default=DEFAULT_UPSTREAM_VENV)
    parser.add_argument("--skip-upstream", action="store_true", help="only ours and raw aiohttp")
    parser.add_argument(
        "--baseline-tree",
        type=Path,
        help="another source tree of this project (e.g. `git archive <commit> tomodachi | tar -x -C DIR`), "
        "raced as 'baseline' on this interpreter: before/after figures from one run",
    )
    parser.add_argument("--no-breakdown", action="store_true", help="skip the import-cost breakdown of ours")
    parser.add_argument("--json", type=Path, help="also write the medians and samples to this file")
    args = parser.parse_args()

    ours_python = Path(sys.executable)
    workdir = Path(tempfile.mkdtemp(prefix="tomodachi-bench-startup-"))
    (workdir / "service.py").write_text(textwrap.dedent(TOMODACHI_SERVICE).lstrip())
    (workdir / "aiohttp_app.py").write_text(textwrap.dedent(AIOHTTP_APP).lstrip())

    run_service = ["-m", "tomodachi", "run", "--production", "service.py"]
    ours_paths = library_paths(ours_python, REPO)
    ours = Contender("ours", ours_python, ours_paths, run_service)
    contenders = [ours]
    if not args.skip_upstream:
        upstream_python = ensure_upstream_venv(args.upstream_venv)
        contenders.append(Contender("upstream", upstream_python, library_paths(upstream_python), run_service))
    if args.baseline_tree is not None:
        baseline_paths = library_paths(ours_python, args.baseline_tree.resolve())
        contenders.append(Contender("baseline", ours_python, baseline_paths, run_service))
    raw = Contender("aiohttp", ours_python, ours_paths, ["aiohttp_app.py"])

    # warm the OS file cache and .pyc files once, then interleave contenders so drift hits all alike
    for contender in contenders:
        time_import(contender, workdir)
    for contender in [*contenders, raw]:
        time_ready(contender, workdir)
    load = os.getloadavg()[0]

    # each round runs every contender once, in a shuffled order, so neither drift nor a predecessor's teardown
    # favours one of them
    shuffle = random.Random(42).shuffle
    imports: dict[str, list[float]] = {c.name: [] for c in contenders}
    for _ in range(args.import_runs):
        shuffle(contenders)
        for contender in contenders:
            imports[contender.name].append(time_import(contender, workdir))
    ready: dict[str, list[float]] = {c.name: [] for c in [*contenders, raw]}
    everyone = [*contenders, raw]
    for _ in range(args.ready_runs):
        shuffle(everyone)
        for contender in everyone:
            ready[contender.name].append(time_ready(contender, workdir))

    imp = {name: median_ms(samples) for name, samples in imports.items()}
    rdy = {name: median_ms(samples) for name, samples in ready.items()}
    up_imp, up_rdy = imp.get("upstream"), rdy.get("upstream")

    print(
        f"\nstartup benchmark (medians; import n={args.import_runs}, ready n={args.ready_runs}), "
        f"python {sys.version.split()[0]}, load average {load:.2f} on {os.cpu_count()} CPUs"
    )
    print(f"{'metric':34} {'ours':>8} {'upstream':>8} {'aiohttp':>8}   {'ours/upstream':>13} {'ours/aiohttp':>12}")
    print(
        f"{'import tomodachi (ms)':34} {fmt(imp['ours'])} {fmt(up_imp)} {fmt(None)}   "
        f"{ratio(imp['ours'], up_imp):>13} {'-':>12}"
    )
    print(
        f"{'run --production → first 200 (ms)':34} {fmt(rdy['ours'])} {fmt(up_rdy)} {fmt(rdy['aiohttp'])}   "
        f"{ratio(rdy['ours'], up_rdy):>13} {ratio(rdy['ours'], rdy['aiohttp']):>12}"
    )
    ready_ok = rdy["ours"] <= TARGET_READY_VS_AIOHTTP * rdy["aiohttp"]
    print(f"\ntarget ready ≤ {TARGET_READY_VS_AIOHTTP}x raw aiohttp: {'met' if ready_ok else 'NOT met'}")
    if up_imp is not None:
        import_ok = imp["ours"] <= TARGET_IMPORT_VS_UPSTREAM * up_imp
        print(f"target import ≤ {TARGET_IMPORT_VS_UPSTREAM}x upstream: {'met' if import_ok else 'NOT met'}")

    if "baseline" in imp:
        print(
            f"\nbaseline ({args.baseline_tree}): import {imp['baseline']:.1f} ms, ready {rdy['baseline']:.1f} ms "
            f"= {ratio(rdy['baseline'], rdy['aiohttp'])} raw aiohttp; ours/baseline: import "
            f"{ratio(imp['ours'], imp['baseline'])}, ready {ratio(rdy['ours'], rdy['baseline'])}"
        )

    if not args.no_breakdown:
        print("\nours: imports on top of aiohttp.web (one -X importtime run, cumulative ms, inflated by the probe):")
        for name, cost in import_overhead(ours, workdir):
            print(f"  {cost:7.1f}  {name}")

    if args.json:
        args.json.write_text(
            json.dumps({"import_ms": imp, "ready_ms": rdy, "import_samples": imports, "ready_samples": ready}, indent=2)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
