"""Hot-path benchmark results: medians, ratios, target checks and the Markdown table (no I/O, no network)."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

CONTENDERS = ("ours", "upstream", "raw")


@dataclass
class Outcome:
    """One contender's samples (msg/s or req/s) in one case; ``error`` when a run failed (the rest are skipped)."""

    samples: list[float] = field(default_factory=list)
    error: str | None = None
    details: list[dict[str, Any]] = field(default_factory=list)

    @property
    def median(self) -> float | None:
        return statistics.median(self.samples) if self.samples and self.error is None else None

    def as_json(self) -> dict[str, Any]:
        return {"median": self.median, "samples": self.samples, "error": self.error, "details": self.details}


@dataclass
class CaseResult:
    key: str
    label: str
    unit: str  # "msg/s" or "req/s"
    # minimum ratios ours/upstream and ours/raw from the issue; None: no target
    target_upstream: float | None = None
    target_raw: float | None = None
    outcomes: dict[str, Outcome] = field(default_factory=dict)  # only the contenders the case runs
    note: str = ""

    def ratio(self, other: str) -> float | None:
        ours = self.outcomes.get("ours")
        theirs = self.outcomes.get(other)
        if ours is None or theirs is None or ours.median is None or not theirs.median:
            return None
        return ours.median / theirs.median

    def verdict(self) -> str:
        """``pass`` / ``FAIL`` against the targets, ``—`` without targets, ``?`` when a figure is missing."""
        pairs = [(self.ratio("upstream"), self.target_upstream), (self.ratio("raw"), self.target_raw)]
        checks = [(ratio, target) for ratio, target in pairs if target is not None]
        if not checks:
            return "—"
        if any(ratio is None for ratio, _ in checks):
            return "?"
        return "pass" if all(ratio is not None and ratio >= target for ratio, target in checks) else "FAIL"

    def as_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "label": self.label,
            "unit": self.unit,
            "note": self.note,
            "results": {name: outcome.as_json() for name, outcome in self.outcomes.items()},
            "ratio_upstream": self.ratio("upstream"),
            "ratio_raw": self.ratio("raw"),
            "target_upstream": self.target_upstream,
            "target_raw": self.target_raw,
            "verdict": self.verdict(),
        }


def format_rate(value: float | None, unit: str) -> str:
    return "—" if value is None else f"{value:,.0f} {unit}"


def format_ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}×"


def format_cell(case: CaseResult, name: str) -> str:
    outcome = case.outcomes.get(name)
    if outcome is None:
        return "—"
    if outcome.error is not None:
        lines = [line.strip() for line in outcome.error.strip().splitlines() if line.strip()] or ["?"]
        text = lines[0] if len(lines) == 1 else f"{lines[0]} … {lines[-1]}"  # the log tail's last line: the cause
        return f"error: {text[:140]}".replace("|", "\\|")
    return format_rate(outcome.median, case.unit)


def format_target(case: CaseResult) -> str:
    parts = []
    if case.target_upstream is not None:
        parts.append(f"≥{case.target_upstream:g}× up")
    if case.target_raw is not None:
        parts.append(f"≥{case.target_raw:g}× raw")
    return ", ".join(parts) or "—"


def markdown_table(cases: list[CaseResult]) -> str:
    rows = [
        "| benchmark | ours | upstream 0.29.0 | raw library | ours/upstream | ours/raw | target | verdict |",
        "|---|---:|---:|---:|---:|---:|---|---|",
    ]
    for case in cases:
        cells = [
            case.label,
            *(format_cell(case, name) for name in CONTENDERS),
            format_ratio(case.ratio("upstream")),
            format_ratio(case.ratio("raw")),
            format_target(case),
            case.verdict(),
        ]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def markdown_report(cases: list[CaseResult], environment: dict[str, Any]) -> str:
    lines = ["## Hot paths: ours vs upstream 0.29.0 vs the raw library", "", markdown_table(cases), ""]
    notes = [f"- {case.label}: {case.note}" for case in cases if case.note]
    if notes:
        lines += ["Notes:", "", *notes, ""]
    lines += ["Environment:", ""]
    for key, value in environment.items():
        lines.append(f"- {key}: {value}")
    return "\n".join(lines) + "\n"
