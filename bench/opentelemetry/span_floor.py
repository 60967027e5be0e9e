"""Floors for the sampled-request target (issue 15: ≤ 15 % fewer HTTP requests/s with every trace sampled, i.e.
≤ 17.6 % more work per request): instructions of one sampled request's span, counted by callgrind.

Pieces (each in a fresh process under ``valgrind --tool=callgrind``; per iteration = the difference of two run
sizes divided by the difference of iterations, so interpreter start, imports and set-up cancel out):
  a. ``sdk``: the SDK path our HTTP middleware takes per request: ``TracerProvider(ParentBased(TraceIdRatioBased
     (1.0)))`` + ``BatchSpanProcessor(NullSpanExporter)``; ``start_span`` of a SERVER span with 6 str attributes,
     ``attach(set_span_in_context(span))``, ``detach``, ``set_attribute`` of the status code, ``end``;
  b. ``floor``: the least any exporter-compatible span could cost without the SDK's Span class: the sampler's
     ``should_sample``, ids from ``random.getrandbits``, a ``SpanContext``, attach/detach of a ``NonRecordingSpan``,
     one ``ReadableSpan`` with the same attributes (+ the status code), ``on_end`` of the provider's processors;
  c. an un-instrumented keep-alive request of our framework (the denominator): ``instructions.py --modes off``,
     run here unless ``--off N`` is given (README's ~299,000 if that run fails).
The batch processor gets ``max_queue_size`` 2**20, more than any run's spans: its queue never overflows (no span
is dropped; each worker checks that the exporter received every span after ``provider.shutdown()``). Batches are
exported as by default (512 spans, or every 5 s); the worker thread's instructions are counted too.

`.venv/bin/python bench/opentelemetry/span_floor.py [--sizes 2000,6000] [--off 275573]`
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from time import time_ns

from opentelemetry.context import Context, attach, detach
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import Decision, ParentBased, TraceIdRatioBased
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, TraceFlags, set_span_in_context
from opentelemetry.util.types import AttributeValue

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from null_exporter import NullSpanExporter  # noqa: E402

NAME = "GET /hello"
SERVER = SpanKind.SERVER
STATUS_CODE = "http.response.status_code"
QUEUE_SIZE = 1 << 20
OFF_README = 299_000.0  # README: "a whole off request", before the HTTP transport's later savings
TARGET = 0.15  # at most 15 % fewer requests/s ...
LIMIT = 1 / (1 - TARGET) - 1  # ... is at most 17.6 % more work per request on a saturated core
SAMPLED, NOT_SAMPLED = TraceFlags(TraceFlags.SAMPLED), TraceFlags(TraceFlags.DEFAULT)


def _provider() -> tuple[TracerProvider, NullSpanExporter]:
    exporter = NullSpanExporter()
    provider = TracerProvider(sampler=ParentBased(TraceIdRatioBased(1.0)))
    provider.add_span_processor(BatchSpanProcessor(exporter, max_queue_size=QUEUE_SIZE))
    return provider, exporter


def sdk(n: int) -> tuple[TracerProvider, NullSpanExporter]:
    provider, exporter = _provider()
    tracer = provider.get_tracer("tomodachi")
    for _ in range(n):
        context = Context()  # what the middleware's extract() gives for a request without a traceparent
        attributes = {"http.request.method": "GET", "url.scheme": "http", "http.route": "/hello"}
        attributes |= {"url.path": "/hello", "client.address": "127.0.0.1", "user_agent.original": "bench"}
        span = tracer.start_span(NAME, context=context, kind=SERVER, attributes=attributes, start_time=time_ns())
        token = attach(set_span_in_context(span, context))
        detach(token)  # (the handler runs here)
        span.set_attribute(STATUS_CODE, 200)
        span.end(end_time=time_ns())
    return provider, exporter


def floor(n: int) -> tuple[TracerProvider, NullSpanExporter]:
    provider, exporter = _provider()
    tracer = provider.get_tracer("tomodachi")
    sampler, resource, scope = provider.sampler, provider.resource, tracer._instrumentation_scope  # type: ignore[attr-defined]
    processor, getrandbits = provider._active_span_processor, random.getrandbits
    for _ in range(n):
        start = time_ns()
        context = Context()
        attributes: dict[str, AttributeValue] = {
            "http.request.method": "GET",
            "url.scheme": "http",
            "http.route": "/hello",
        }
        attributes |= {"url.path": "/hello", "client.address": "127.0.0.1", "user_agent.original": "bench"}
        trace_id = getrandbits(128)  # (the SDK draws again on the 2**-128 chance of an invalid 0)
        result = sampler.should_sample(context, trace_id, NAME, SERVER, attributes, ())
        sampled = result.decision is Decision.RECORD_AND_SAMPLE  # Decision.is_sampled()
        flags = SAMPLED if sampled else NOT_SAMPLED
        span_context = SpanContext(trace_id, getrandbits(64), False, flags, result.trace_state)
        token = attach(set_span_in_context(NonRecordingSpan(span_context), context))
        detach(token)  # (the handler runs here)
        if sampled:
            attributes[STATUS_CODE] = 200
            readable = ReadableSpan(
                NAME,
                span_context,
                None,
                resource,
                attributes,
                kind=SERVER,
                start_time=start,
                end_time=time_ns(),
                instrumentation_scope=scope,
            )
            processor.on_end(readable)
    return provider, exporter


PIECES = {"sdk": sdk, "floor": floor}
LABELS = {
    "sdk": "a. SDK: start_span + attach/detach + set_attribute + end, batch processor",
    "floor": "b. floor: sampler + ids + SpanContext + attach/detach + ReadableSpan + on_end",
}


def worker(piece: str, n: int) -> None:
    provider, exporter = PIECES[piece](n)
    provider.shutdown()  # exports what is still queued
    if exporter.exported != n:
        raise RuntimeError(f"{piece}: {exporter.exported} of {n} spans exported")


def count(piece: str, n: int, folder: Path) -> int:
    """Instructions of a whole fresh process running ``piece`` ``n`` times, under callgrind (every thread)."""
    out = folder / f"callgrind.{piece}.{n}.out"
    command = [sys.executable, __file__, "--worker", piece, "--iterations", str(n)]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "PYTHON"))} | {"PYTHONHASHSEED": "0"}
    subprocess.run(command, check=True, capture_output=True, env=env)  # first: bytecode caches written
    command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", *command]
    subprocess.run(command, check=True, capture_output=True, env=env, timeout=3600)
    found = re.search(r"^(?:summary|totals):\s+(\d+)", out.read_text(errors="replace"), re.MULTILINE)
    if found is None:
        raise RuntimeError(f"no totals in {out}")
    return int(found.group(1))


def off_request() -> tuple[float, str]:
    """Instructions of an un-instrumented request, from ``instructions.py --modes off`` (README's figure if not)."""
    command = [sys.executable, str(HERE / "instructions.py"), "--modes", "off"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=3600)
    found = re.search(r"^\| off \| ([\d,]+) \|", done.stdout, re.MULTILINE)
    if done.returncode != 0 or found is None:
        print(f"instructions.py --modes off failed, using README's figure:\n{done.stderr[-2000:]}", file=sys.stderr)
        return OFF_README, "README's figure"
    return float(found.group(1).replace(",", "")), "instructions.py --modes off, this run"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", default="2000,6000", help="the two run sizes, iterations (default 2000,6000)")
    parser.add_argument("--off", type=float, help="instructions of an un-instrumented request (else measured)")
    parser.add_argument("--worker", choices=sorted(PIECES), help=argparse.SUPPRESS)  # one run under callgrind
    parser.add_argument("--iterations", type=int, default=1000, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.iterations)
        return 0
    if shutil.which("valgrind") is None:
        parser.error("valgrind is not installed")
    small, large = (int(size) for size in args.sizes.split(","))
    per: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as name:
        for piece in PIECES:
            print(f"callgrind {piece}: {small:,} and {large:,} iterations ...", file=sys.stderr, flush=True)
            counts = [count(piece, n, Path(name)) for n in (small, large)]
            per[piece] = (counts[1] - counts[0]) / (large - small)
    if args.off is not None:
        off, source = args.off, "--off"
    else:
        print("instructions.py --modes off ...", file=sys.stderr, flush=True)
        off, source = off_request()

    print(f"\ninstructions per sampled request's span (callgrind, {large:,} − {small:,} iterations)\n")
    print("| piece | instructions | of an off request (c) | budget: ≤ +17.6 % of c |")
    print("|---|---:|---:|---|")
    for piece, instructions in per.items():
        share = instructions / off
        verdict = f"{share / LIMIT:.0%} of it {'✓' if share <= LIMIT else '✗'}"
        print(f"| {LABELS[piece]} | {instructions:,.0f} | +{share:.1%} | {verdict} |")
    print(f"| c. an un-instrumented keep-alive request ({source}) | {off:,.0f} | 100 % | {LIMIT * off:,.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
