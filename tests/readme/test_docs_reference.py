"""The Reference section of docs/testing.md names the whole test API: every public method, property and attribute
of the fakes, ``TestSystem``, ``ServiceHandle`` and ``VirtualClock``, and every fixture, command-line option,
marker and ``TOMODACHI_*`` environment variable of the pytest plugin. The names are collected from the code, so
a new public name without a row in the Reference fails here, naming it; a row naming something that no longer
exists fails too.

A row documents the names that start the code spans of its first cell: `await publish(...)` documents
``publish``, `async with outage()` ``outage``, `--tomodachi-seed=N` ``--tomodachi-seed``,
`@pytest.mark.virtual_clock(...)` ``virtual_clock``.
"""

from __future__ import annotations

import ast
import inspect
import re
import textwrap
from pathlib import Path
from typing import Any

import pytest

import tomodachi.testing
from tomodachi.testing import plugin
from tomodachi.testing.clock import VirtualClock
from tomodachi.testing.fakes.amqp import InMemoryAmqp
from tomodachi.testing.fakes.protocols import FakeAmqp, FakeBus, FakeSnsSqs
from tomodachi.testing.fakes.sns_sqs import InMemorySnsSqs
from tomodachi.testing.handle import ServiceHandle
from tomodachi.testing.systems import TestSystem

ROOT = Path(__file__).resolve().parents[2]
TESTING_MD = ROOT / "docs" / "testing.md"

# the Reference tables (by the class name in their heading) where each class's public names must appear
SECTIONS: dict[type, tuple[str, ...]] = {
    FakeBus: ("FakeBus",),
    FakeAmqp: ("FakeBus", "FakeAmqp"),
    FakeSnsSqs: ("FakeBus", "FakeSnsSqs"),
    InMemoryAmqp: ("FakeBus", "FakeAmqp"),  # what the fake_amqp fixture really is
    InMemorySnsSqs: ("FakeBus", "FakeSnsSqs"),
    TestSystem: ("TestSystem",),
    ServiceHandle: ("ServiceHandle",),
    VirtualClock: ("VirtualClock",),
}
# public only for the harness: how settle() sees a fake's work, and the test's records store
HARNESS_INTERNALS = {InMemoryAmqp: {"busy", "changed", "ledger"}, InMemorySnsSqs: {"busy", "changed", "ledger"}}
PLUGIN_SECTIONS = ("Fixtures", "Options, markers and environment variables")

CODE_SPAN = re.compile(r"`([^`]+)`")
FIRST_NAME = re.compile(r"(?:await |async with |with |@pytest\.mark\.)?(--[a-z][\w-]*|[A-Za-z_]\w*)")


# -- what the Reference documents -----------------------------------------------------------------------------


def first_cell(row: str) -> str:
    """The first cell of a table row (a ``|`` inside a code span does not end it)."""
    cell, in_code = "", False
    for char in row.strip()[1:]:
        if char == "`":
            in_code = not in_code
        elif char == "|" and not in_code:
            break
        cell += char
    return cell


def reference_tables() -> dict[str, set[str]]:
    """``### heading`` of the Reference section -> the names its table rows document."""
    tables: dict[str, set[str]] = {}
    heading: str | None = None
    in_reference = False
    for line in TESTING_MD.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            in_reference = line.strip() == "## Reference"
            heading = None
        elif in_reference and line.startswith("### "):
            heading = line[4:].strip()
            tables[heading] = set()
        elif in_reference and heading is not None and line.startswith("|") and not line.startswith("|---"):
            for span in CODE_SPAN.findall(first_cell(line)):
                match = FIRST_NAME.match(span.strip())
                if match:
                    tables[heading].add(match.group(1))
    return tables


def documented(*sections: str) -> set[str]:
    """The names documented under the Reference headings that name one of ``sections`` (as `Name`, or by the
    heading's text)."""
    tables = reference_tables()
    chosen = [h for h in tables if any(f"`{s}`" in h or h == s for s in sections)]
    assert len(chosen) == len(sections), f"docs/testing.md's Reference has no table for each of {sections}"
    return set().union(*(tables[h] for h in chosen))


# -- what the code offers -------------------------------------------------------------------------------------


def instance_attributes(cls: type) -> set[str]:
    """Public attributes the ``__init__`` of ``cls`` (or of a tomodachi base class) sets on ``self``."""
    names: set[str] = set()
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None or not klass.__module__.startswith("tomodachi."):
            continue
        tree = ast.parse(textwrap.dedent(inspect.getsource(init)))
        for node in ast.walk(tree):
            targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
            for target in targets:
                if (
                    isinstance(target, ast.Attribute)
                    and isinstance(target.value, ast.Name)
                    and target.value.id == "self"
                ):
                    names.add(target.attr)
    return {name for name in names if not name.startswith("_")}


def public_names(cls: type) -> set[str]:
    names = {name for name in dir(cls) if not name.startswith("_")} | instance_attributes(cls)
    return names - HARNESS_INTERNALS.get(cls, set())


def plugin_fixtures() -> set[str]:
    names = set()
    for attribute, value in vars(plugin).items():
        marker = getattr(value, "_fixture_function_marker", None) or getattr(value, "_pytestfixturefunction", None)
        if marker is not None:
            names.add(getattr(marker, "name", None) or attribute)
    return names


def plugin_options() -> set[str]:
    class Recorder:
        def __init__(self) -> None:
            self.names: list[str] = []

        def getgroup(self, *args: Any, **kwargs: Any) -> Recorder:
            return self

        def addoption(self, *names: str, **kwargs: Any) -> None:
            self.names.extend(names)

    recorder = Recorder()
    plugin.pytest_addoption(recorder)  # type: ignore[arg-type]
    return set(recorder.names)


def plugin_markers() -> set[str]:
    """The markers ``pytest_configure`` registers (``addinivalue_line("markers", "name(args): help")``)."""
    names = set()
    for node in ast.walk(ast.parse(inspect.getsource(plugin))):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "addinivalue_line":
            kind, line = (arg.value if isinstance(arg, ast.Constant) else None for arg in node.args[:2])
            if kind == "markers" and isinstance(line, str):
                names.add(re.split(r"[(:]", line, maxsplit=1)[0].strip())
    return names


def plugin_environment_variables() -> set[str]:
    sources = (ROOT / "tomodachi" / "testing").rglob("*.py")
    return {name for path in sources for name in re.findall(r"[\"'](TOMODACHI_[A-Z0-9_]+)[\"']", path.read_text())}


# -- the tests --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", list(SECTIONS), ids=lambda cls: cls.__name__)
def test_the_reference_lists_every_public_name_of_the_test_api(cls: type) -> None:
    missing = sorted(public_names(cls) - documented(*SECTIONS[cls]))
    headings = " / ".join(f"### `{section}`" for section in SECTIONS[cls])
    assert not missing, (
        f"docs/testing.md's Reference does not list {cls.__name__}.{', .'.join(missing)}: add a row to {headings}"
    )


@pytest.mark.parametrize(
    "section", ["FakeBus", "FakeAmqp", "FakeSnsSqs", "TestSystem", "ServiceHandle", "VirtualClock"]
)
def test_the_reference_names_nothing_the_test_api_does_not_have(section: str) -> None:
    classes = [cls for cls, sections in SECTIONS.items() if section in sections]
    real = set().union(*(public_names(cls) | {cls.__name__} for cls in classes)) | set(tomodachi.testing.__all__)
    unknown = sorted(documented(section) - real)
    assert not unknown, f"docs/testing.md's Reference, ### `{section}`, names what does not exist: {', '.join(unknown)}"


def test_the_reference_lists_every_fixture_of_the_plugin() -> None:
    fixtures = plugin_fixtures()
    assert {"tomodachi_service", "virtual_clock"} <= fixtures, "the plugin's fixtures were not found by introspection"
    assert documented("Fixtures") == fixtures, "docs/testing.md's Reference, ### Fixtures, differs from the plugin's"


def test_the_reference_lists_every_option_marker_and_environment_variable_of_the_plugin() -> None:
    offered = plugin_options() | plugin_markers() | plugin_environment_variables()
    assert {"--tomodachi-wire", "virtual_clock", "TOMODACHI_TEST_WIRE"} <= offered, "introspection found too little"
    listed = documented("Options, markers and environment variables")
    assert not offered - listed, f"docs/testing.md's Reference does not list {', '.join(sorted(offered - listed))}"
    assert not listed - offered, f"docs/testing.md's Reference lists unknown {', '.join(sorted(listed - offered))}"
