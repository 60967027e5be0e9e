"""The hot-path benchmark's report: medians, ratios, verdicts and the Markdown table, on synthetic figures."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

HOT_PATHS = Path(__file__).resolve().parents[2] / "bench" / "hot_paths"
sys.path.insert(0, str(HOT_PATHS))
from hot_harness import http_cpus, parse_wrk, pinned_to  # noqa: E402
from hot_report import CaseResult, Outcome, markdown_report, markdown_table  # noqa: E402

_spec = importlib.util.spec_from_file_location("bench_hot_paths_run", HOT_PATHS / "run.py")
assert _spec is not None and _spec.loader is not None
runner = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(runner)


def case(
    ours: list[float],
    upstream: list[float],
    raw: list[float] | None = None,
    *,
    vs_up: float | None = None,
    vs_raw: float | None = None,
) -> CaseResult:
    result = CaseResult("k", "HTTP GET /hello", "req/s", vs_up, vs_raw)
    result.outcomes = {"ours": Outcome(ours), "upstream": Outcome(upstream)}
    if raw is not None:
        result.outcomes["raw"] = Outcome(raw)
    return result


def test_ratios_use_medians() -> None:
    result = case([300.0, 100.0, 200.0], [100.0, 50.0, 150.0], [400.0], vs_up=1.3, vs_raw=0.5)
    assert result.ratio("upstream") == pytest.approx(2.0)
    assert result.ratio("raw") == pytest.approx(0.5)
    assert result.verdict() == "pass"


def test_verdicts() -> None:
    assert case([100.0], [100.0], vs_up=1.3).verdict() == "FAIL"
    assert case([100.0], [100.0]).verdict() == "—"
    assert case([100.0], [100.0], vs_up=1.0, vs_raw=0.7).verdict() == "?"  # no raw figure


def test_an_error_leaves_the_cell_and_ratios_empty() -> None:
    result = case([100.0], [50.0], [80.0], vs_up=1.0)
    result.outcomes["ours"].error = "RuntimeError: publisher: boom | bang\ntraceback"
    assert result.ratio("upstream") is None and result.verdict() == "?"
    row = markdown_table([result]).splitlines()[2]
    assert "error: RuntimeError: publisher: boom \\| bang … traceback |" in row


def test_table_rows() -> None:
    table = markdown_table([case([12345.6], [5000.0], [20000.0], vs_up=1.3, vs_raw=0.5)])
    header, rule, row = table.splitlines()
    assert header.count("|") == rule.count("|") == row.count("|") == 9
    assert row == (
        "| HTTP GET /hello | 12,346 req/s | 5,000 req/s | 20,000 req/s | 2.47× | 0.62× | ≥1.3× up, ≥0.5× raw | pass |"
    )
    report = markdown_report([case([1.0], [1.0])], {"python": "3.11"})
    assert "- python: 3.11" in report


def test_wrk_output_parsing() -> None:
    output = """Running 5s test @ http://127.0.0.1:1/hello
  1 threads and 50 connections
  41712 requests in 5.01s, 6.68MB read
  Socket errors: connect 0, read 12, write 0, timeout 0
  Non-2xx or 3xx responses: 3
Requests/sec:   8325.47
Transfer/sec:      1.33MB
"""
    found = parse_wrk(output)
    assert found["rate"] == pytest.approx(8325.47)
    assert found["requests"] == 41712 and found["non_2xx"] == 3
    assert found["socket_errors"] == {"connect": 0, "read": 12, "write": 0, "timeout": 0}


def test_case_selection() -> None:
    assert {c.key for c in runner.select_cases(runner.parse_args(["--only", "consume"]))} == {"amqp-consume"}
    quick = runner.parse_args(["--quick", "--case", "http-hello-defaults"])
    assert (quick.repeat, quick.messages, quick.duration) == (1, 2000, 1)
    assert [c.key for c in runner.select_cases(quick)] == ["http-hello-defaults"]
    assert len(runner.select_cases(runner.parse_args([]))) == 13


def test_http_pinning_gives_the_server_a_cpu_of_its_own() -> None:
    server, client = http_cpus()
    if not hasattr(os, "sched_getaffinity") or len(os.sched_getaffinity(0)) < 2:
        assert (server, client) == (frozenset(), frozenset())
    else:
        assert len(server) == 1 and client and not server & client
        assert server | client <= os.sched_getaffinity(0)
    assert pinned_to(frozenset()) is None
    assert runner.parse_args(["--no-pin"]).no_pin and not runner.parse_args([]).no_pin
