"""End-to-end SNS+SQS benchmark through moto: this tomodachi vs upstream 0.29.0 (both as subprocesses running
bench_service.py), with a counting HTTP proxy in front of moto to measure AWS API requests per message.

    .venv/bin/python bench/sns_sqs/run.py [--messages 500] [--concurrency 10] [--only ours|upstream]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from aiohttp import ClientSession, ClientTimeout, web

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO / "integration" / "sns_sqs"))
from sns_sqs_support import FAKE_CREDENTIALS, MotoServer, upstream_python  # noqa: E402

HOP_HEADERS = {"transfer-encoding", "content-length", "content-encoding", "connection", "keep-alive"}


class CountingProxy:
    """Forwards every request to moto and counts it by API operation (``X-Amz-Target`` or the ``Action`` form
    field, as the JSON and query protocols name it)."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.counts: Counter[str] = Counter()
        self.session: ClientSession | None = None
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> None:
        self.session = ClientSession(timeout=ClientTimeout(total=None), auto_decompress=False)
        app = web.Application(client_max_size=1024**3)
        app.router.add_route("*", "/{tail:.*}", self.forward)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
        if self.session is not None:
            await self.session.close()

    async def forward(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.counts[_operation(request, body)] += 1
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_HEADERS}
        assert self.session is not None
        async with self.session.request(
            request.method, self.target + request.path_qs, data=body, headers=headers, allow_redirects=False
        ) as response:
            payload = await response.read()
            out = {k: v for k, v in response.headers.items() if k.lower() not in HOP_HEADERS}
            if response.headers.get("content-encoding"):
                out["Content-Encoding"] = response.headers["content-encoding"]
            return web.Response(status=response.status, body=payload, headers=out)


def _operation(request: web.Request, body: bytes) -> str:
    target = request.headers.get("X-Amz-Target")
    if target:
        return target.rsplit(".", 1)[-1]
    action = request.query.get("Action") or (parse_qs(body.decode("utf-8", "replace")).get("Action") or ["?"])[0]
    return str(action)


async def run_one(label: str, python: str, proxy: CountingProxy, messages: int, concurrency: int) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix=f"bench-sns-sqs-{label}-"))
    service = workdir / "bench_service.py"
    service.write_text((HERE / "bench_service.py").read_text())
    out = workdir / "result.json"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env.update(FAKE_CREDENTIALS)
    env.update(
        {
            "BENCH_N": str(messages),
            "BENCH_OUT": str(out),
            "BENCH_URL": proxy.url,
            "BENCH_PREFIX": f"b{uuid.uuid4().hex[:6]}-",
            "BENCH_CONCURRENCY": str(concurrency),
        }
    )
    if label == "ours":
        env["PYTHONPATH"] = str(REPO)
    proxy.counts.clear()
    started = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        python, "-m", "tomodachi", "run", service.name, "--production", "--log-level", "warning",
        cwd=workdir, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        _, stderr = await asyncio.wait_for(process.communicate(), 600)
    except asyncio.TimeoutError:
        process.kill()
        raise
    wall = time.monotonic() - started
    if not out.exists():
        raise RuntimeError(f"{label} run produced no result (exit {process.returncode}):\n{stderr.decode()[-3000:]}")
    result: dict[str, Any] = json.loads(out.read_text())
    counts = dict(proxy.counts)
    total = sum(counts.values())
    result.update(
        {
            "label": label,
            "process_seconds": wall,
            "api_requests": total,
            "api_requests_per_message": total / messages,
            "by_operation": dict(sorted(counts.items(), key=lambda kv: -kv[1])),
        }
    )
    return result


def report(results: list[dict[str, Any]]) -> str:
    lines = [
        "| run | messages | msg/s | median latency ms | p95 latency ms | API requests | requests/msg |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['label']} | {r['messages']} | {r['messages_per_second']:.1f} | {r['median_latency_ms']:.0f} | "
            f"{r['p95_latency_ms']:.0f} | {r['api_requests']} | {r['api_requests_per_message']:.2f} |"
        )
    for r in results:
        ops = ", ".join(f"{op} {n}" for op, n in r["by_operation"].items())
        lines.append(f"\n{r['label']}: {ops}")
    return "\n".join(lines)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=10, help="publishes in flight at once")
    parser.add_argument("--only", choices=["ours", "upstream"])
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()

    moto = MotoServer()
    moto.start()
    proxy = CountingProxy(moto.url)
    await proxy.start()
    results = []
    try:
        runs = [("ours", sys.executable), ("upstream", None)]
        for label, python in runs:
            if args.only and label != args.only:
                continue
            if python is None:
                python = str(upstream_python())
            print(f"running {label} ({args.messages} messages) ...", file=sys.stderr)
            results.append(await run_one(label, python, proxy, args.messages, args.concurrency))
    finally:
        await proxy.stop()
        moto.stop()
    print(report(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
