"""Phase (b) of ``run_upstream_corpus.py``: run upstream's test suite file by file against our package (a per-test
time limit from the guard plugin, a per-file ``timeout`` as backstop), read the JUnit XML, and probe what
upstream's ``tests/run_test_service_helper.py`` needs from ``tomodachi.container`` / ``launcher`` / ``importer``."""

from __future__ import annotations

import ast
import json
import shutil
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from corpus_common import OUR_PACKAGE, PYTHON, SITECUSTOMIZE, log, run_bounded
from corpus_hooks import GUARD_PLUGIN, HELPER_ADAPTER, HELPER_PROBE, OTEL_STUB_PLUGIN

# pass name -> (extra pytest plugins, replace the helper with the adapter)
PASSES: dict[str, tuple[tuple[str, ...], bool]] = {
    "as-is": ((), False),
    "otel-stub": (("upstream_corpus_otel_stub",), False),
    "otel-stub+helper-adapter": (("upstream_corpus_otel_stub",), True),
}


@dataclass
class TestOutcome:
    nodeid: str
    outcome: str  # passed / failed / error / skipped / timeout
    message: str = ""


@dataclass
class FileRun:
    file: str
    static_tests: int
    returncode: int | None
    timed_out: bool
    outcomes: list[TestOutcome] = field(default_factory=list)
    collection_error: str = ""


def write_hooks(hooks: Path) -> Path:
    hooks.mkdir(parents=True, exist_ok=True)
    (hooks / "sitecustomize.py").write_text(SITECUSTOMIZE, encoding="utf-8")
    (hooks / "upstream_corpus_guard.py").write_text(GUARD_PLUGIN, encoding="utf-8")
    (hooks / "upstream_corpus_otel_stub.py").write_text(OTEL_STUB_PLUGIN, encoding="utf-8")
    return hooks


def static_test_count(path: Path) -> int:
    """Tests a file defines, counted from its source (parametrize lists multiply), for files that cannot be
    collected with our package."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except SyntaxError:
        return 0
    total = 0
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test"):
            count = 1
            for deco in node.decorator_list:
                if (
                    isinstance(deco, ast.Call)
                    and getattr(deco.func, "attr", "") == "parametrize"
                    and len(deco.args) >= 2
                    and isinstance(deco.args[1], ast.List | ast.Tuple)
                ):
                    count *= len(deco.args[1].elts)
            total += count
    return total


def _first_e_line(text: str) -> str:
    for line in text.splitlines():
        if line.startswith("E   ") or line.startswith("E       "):
            return line[1:].strip()
    return ""


def _message(element: ET.Element) -> str:
    text = element.text or ""
    message = (element.get("message") or "").strip()
    first = message.splitlines()[0].strip() if message else ""
    if not first or first in ("collection failure", "failed on setup with", "failed on teardown with"):
        first = _first_e_line(text) or first
    elif first.startswith(("failed on setup with", "failed on teardown with")):
        first = first.split("with", 1)[1].strip().strip('"')
    return first[:300]


def parse_junit(xml_file: Path, file: str) -> tuple[list[TestOutcome], str]:
    outcomes: dict[str, TestOutcome] = {}
    collection_error = ""
    rank = {"failed": 3, "error": 2, "skipped": 1, "passed": 0}
    root = ET.parse(xml_file).getroot()
    for case in root.iter("testcase"):
        name = case.get("name", "")
        classname = case.get("classname", "")
        if not classname:  # collection error of the whole module
            error = case.find("error")
            collection_error = _message(error) if error is not None else "collection failed"
            continue
        nodeid = f"{file}::{name}"
        outcome, message = "passed", ""
        for tag, label in (("failure", "failed"), ("error", "error"), ("skipped", "skipped")):
            element = case.find(tag)
            if element is not None:
                outcome, message = label, _message(element)
                if "CorpusTestTimeout" in message or "per-test limit" in message:
                    outcome = "timeout"
                break
        previous = outcomes.get(nodeid)
        if previous is None or rank.get(outcome, 4) > rank.get(previous.outcome, 4):
            outcomes[nodeid] = TestOutcome(nodeid, outcome, message)
    return list(outcomes.values()), collection_error


def run_pass(
    name: str,
    stage: Path,
    hooks: Path,
    env: dict[str, str],
    out_dir: Path,
    per_test: float,
    only_files: list[str] | None = None,
) -> list[FileRun]:
    plugins, adapter = PASSES[name]
    root = stage
    if adapter:
        root = stage.parent / f"{stage.name}-adapter"
        if root.exists():
            shutil.rmtree(root)
        shutil.copytree(stage, root)
        (root / "tests" / "run_test_service_helper.py").write_text(HELPER_ADAPTER, encoding="utf-8")
    env = dict(env)
    env["UPSTREAM_CORPUS_EXPECT_TOMODACHI"] = str(OUR_PACKAGE)
    env["UPSTREAM_CORPUS_TEST_TIMEOUT"] = f"{per_test:g}"
    pass_dir = out_dir / name
    pass_dir.mkdir(parents=True, exist_ok=True)
    files = sorted(p.relative_to(root).as_posix() for p in (root / "tests").glob("test_*.py"))
    if only_files:
        files = [f for f in files if any(part in f for part in only_files)]
    runs: list[FileRun] = []
    for file in files:
        static = static_test_count(root / file)
        xml_file = pass_dir / (Path(file).stem + ".xml")
        xml_file.unlink(missing_ok=True)
        argv = [PYTHON, "-m", "pytest", file, "-v", "-p", "no:cacheprovider", "-p", "upstream_corpus_guard"]
        for plugin in plugins:
            argv += ["-p", plugin]
        argv += [f"--junitxml={xml_file}", "-o", "junit_logging=no", "-o", "junit_family=xunit1"]
        backstop = min(3600.0, 120.0 + max(static, 1) * per_test * 1.5)
        code, output, timed_out = run_bounded(argv, cwd=root, env=env, timeout=backstop)
        (pass_dir / (Path(file).stem + ".out")).write_text(output, encoding="utf-8")
        run = FileRun(file, static, code, timed_out)
        if xml_file.exists():
            try:
                run.outcomes, run.collection_error = parse_junit(xml_file, file)
            except ET.ParseError as exc:
                run.collection_error = f"unreadable JUnit XML: {exc}"
        if not run.outcomes and not run.collection_error:
            run.collection_error = _first_e_line(output) or (output.strip().splitlines() or ["no output"])[-1]
        if timed_out:
            run.collection_error = (run.collection_error + f" [file hit the {backstop:g} s backstop]").strip()
        counts = summarize([run])
        log(
            f"suite[{name}] {file}: "
            + (f"NOT COLLECTED ({run.collection_error[:120]}); " if run.collection_error and not run.outcomes else "")
            + ", ".join(f"{k}={v}" for k, v in counts.items() if v)
        )
        runs.append(run)
    (pass_dir / "results.json").write_text(
        json.dumps([run.__dict__ | {"outcomes": [o.__dict__ for o in run.outcomes]} for run in runs], indent=1),
        encoding="utf-8",
    )
    return runs


def summarize(runs: list[FileRun]) -> dict[str, int]:
    counts = {"collected": 0, "passed": 0, "failed": 0, "error": 0, "skipped": 0, "timeout": 0}
    counts |= {"files not collected": 0, "tests in uncollected files (static count)": 0}
    for run in runs:
        if run.collection_error and not run.outcomes:
            counts["files not collected"] += 1
            counts["tests in uncollected files (static count)"] += run.static_tests
        for outcome in run.outcomes:
            counts["collected"] += 1
            counts[outcome.outcome] = counts.get(outcome.outcome, 0) + 1
    return counts


def probe_helper(stage: Path, env: dict[str, str]) -> list[dict[str, object]]:
    code, output, timed_out = run_bounded([PYTHON, "-c", HELPER_PROBE], cwd=stage, env=env, timeout=60)
    rows: list[dict[str, object]] = []
    for line in output.splitlines():
        if line.startswith("{"):
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    if code != 0 or timed_out:
        rows.append({"check": "probe process", "ok": False, "detail": f"rc={code} timed_out={timed_out}"})
    return rows
