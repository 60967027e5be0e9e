"""Instructions per HTTP request by mode, counted by callgrind (the same service and modes as run.py): unlike
requests/s, the count does not move with other load on the machine. See README.md here."""

from __future__ import annotations

import argparse
import http.client
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import null_exporter
import run

STARTUP_TIMEOUT = 600.0  # a service starts some 50 times slower under callgrind


def _connect(port: int, process: subprocess.Popen[bytes]) -> http.client.HTTPConnection:
    started = time.monotonic()
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"the service exited with {process.returncode} before it answered")
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        try:
            connection.request("GET", "/hello")
            connection.getresponse().read()
            return connection
        except OSError:
            connection.close()
            if time.monotonic() - started > STARTUP_TIMEOUT:
                raise
            time.sleep(0.5)


def _requests(connection: http.client.HTTPConnection, count: int) -> None:
    """``count`` keep-alive requests, one after the other, as wrk sends them (a User-Agent, no traceparent)."""
    for _ in range(count):
        connection.request("GET", "/hello", headers={"User-Agent": "bench"})
        response = connection.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"status {response.status}")


def instructions_per_request(mode: str, folder: Path, requests: int, warmup: int) -> float:
    """One service process in ``mode`` under callgrind: its counters zeroed after ``warmup`` requests, dumped
    after ``requests`` more."""
    port = run._free_port()
    output = folder / f"callgrind.{mode}.out"
    command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={output}"]
    command += [sys.executable, str(Path(sys.executable).with_name("tomodachi")), "run", str(folder / "service.py")]
    command += ["--production", "--logger", "disabled"]
    env = run._clean_env({**run.HTTP_ENV[mode], "BENCH_PORT": str(port)}, folder)
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        connection = _connect(port, process)
        _requests(connection, warmup)
        subprocess.run(["callgrind_control", "--zero", str(process.pid)], check=True, capture_output=True)
        _requests(connection, requests)
        subprocess.run(["callgrind_control", "--dump=measured", str(process.pid)], check=True, capture_output=True)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    for dump in sorted(folder.glob(f"{output.name}*")):
        text = dump.read_text(errors="replace")
        if "measured" in text[:4000]:
            found = re.search(r"^(?:summary|totals):\s+(\d+)", text, re.MULTILINE)
            if found:
                return int(found.group(1)) / requests
    raise RuntimeError(f"no callgrind dump of the measured requests for {mode}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=1000, help="measured requests per mode")
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--modes", default=",".join(run.MODES), help=f"comma-separated, of {', '.join(run.MODES)}")
    args = parser.parse_args(argv)
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        parser.error("valgrind (with callgrind_control) is not installed")
    modes = [mode.strip() for mode in args.modes.split(",") if mode.strip()]
    if set(modes) - set(run.MODES) or "off" not in modes:
        parser.error(f"--modes takes off and any of {', '.join(run.MODES[1:])}")
    counts: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        (folder / "service.py").write_text(textwrap.dedent(run.HTTP_SERVICE))
        null_exporter.register(folder)
        for mode in modes:
            counts[mode] = instructions_per_request(mode, folder, args.requests, args.warmup)
    lines = [f"## HTTP: instructions per request (callgrind, {args.requests} requests per mode)", ""]
    lines += ["| mode | instructions | added vs off | target (as CPU) |", "|---|---|---|---|"]
    for mode, count in counts.items():
        added = count / counts["off"] - 1
        target = run.TARGETS.get(mode)
        # a fraction f fewer requests/s on a saturated core is 1/(1-f)-1 more work per request
        limit = None if target is None else 1 / (1 - target) - 1
        verdict = "" if limit is None else f"≤ +{limit:.1%} {'✓' if added <= limit else '✗'}"
        lines.append(f"| {mode} | {count:,.0f} | {added:+.1%} | {verdict} |")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
