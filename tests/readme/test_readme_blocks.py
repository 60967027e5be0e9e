"""Every ```python block of README.md and of every page in docs/ runs (they are executable
documentation).

Conventions for the documents:

- A file reads top to bottom like a notebook: **one namespace per file**. Each block may use what the code blocks
  above it (in any section) define. Sections stay easy to move when each starts with its own imports.
- A block that defines a top-level function named ``test_*`` is a **test block**; every other block is a
  **code block**.
- Code blocks are exec'd in order into a fresh module (line numbers in tracebacks are the document's), so a
  decorator with bad arguments, a typo or a missing import fails here.
- A test block runs in an inner pytest (pytester; ``asyncio_mode = auto``; the tomodachi plugin from its entry
  point, as in a user's project) as one test module: the code blocks above it, then the test block. It must pass
  with exactly as many passed tests as it defines, so an error at teardown (an unnoticed handler exception) fails.
- A block directly after a ``<!-- not-executed -->`` line is skipped (signatures, pseudo-code).
  ```sh blocks never run here (tests/readme/test_readme_commands.py and CI run those).
"""

from __future__ import annotations

import ast
import logging
import re
import sys
import types
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[2]
# every page with Python on it: README.md and all of docs/ (a page is never skipped for being missing)
DOCUMENTS = ("README.md", *sorted(str(path.relative_to(ROOT)) for path in (ROOT / "docs").glob("*.md")))
# pages that walk through services must also show their tests
TOURS = ("README.md", "docs/testing.md")
SKIP_MARKER = "<!-- not-executed -->"
FENCE = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", flags=re.DOTALL | re.MULTILINE)
FUTURE_IMPORT = re.compile(r"^from __future__ import [^\n]+\n", flags=re.MULTILINE)
# the hypothesis plugin's summary costs seconds per inner run and is irrelevant here
INNER_ARGS = ("-p", "no:cacheprovider", "-p", "no:hypothesispytest")
INNER_INI = "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"


@dataclass(frozen=True)
class Block:
    document: str
    line: int  # 1-based line of the first code line in the document
    code: str
    skipped: bool

    @property
    def test_names(self) -> list[str]:
        try:
            tree = ast.parse(self.code)
        except SyntaxError:
            return []  # not a test block: test_code_block_runs reports the error at the document's line
        functions = (ast.FunctionDef, ast.AsyncFunctionDef)
        return [node.name for node in tree.body if isinstance(node, functions) and node.name.startswith("test")]

    @property
    def is_test(self) -> bool:
        return bool(self.test_names)

    @property
    def id(self) -> str:
        return f"{self.document}:{self.line}"


def python_blocks(document: str) -> list[Block]:
    text = (ROOT / document).read_text(encoding="utf-8")
    blocks = []
    for match in FENCE.finditer(text):
        line = text.count("\n", 0, match.start(1)) + 1
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        blocks.append(Block(document, line, match.group(1), skipped=before.strip() == SKIP_MARKER))
    return blocks


def _all_blocks() -> list[Block]:
    return [block for document in DOCUMENTS for block in python_blocks(document)]


def _code_blocks_before(block: Block) -> list[Block]:
    blocks = python_blocks(block.document)
    earlier = blocks[: blocks.index(block)]
    return [b for b in earlier if not b.skipped and not b.is_test]


def exec_blocks(blocks: list[Block], module_name: str) -> types.ModuleType:
    """Exec blocks in order into one fresh module, registered in sys.modules while it runs (dataclasses,
    pickling and typing look classes' modules up there)."""
    module = types.ModuleType(module_name)
    module.__file__ = str(ROOT / blocks[0].document) if blocks else None
    sys.modules[module_name] = module
    try:
        for block in blocks:
            # pad so tracebacks point at the document's own line numbers
            source = "\n" * (block.line - 1) + block.code
            exec(compile(source, str(ROOT / block.document), "exec", dont_inherit=True), module.__dict__)
    finally:
        sys.modules.pop(module_name, None)
    return module


def inner_module_source(prelude: list[Block], block: Block) -> str:
    """One inner test module: future imports hoisted (they must come first), then each block under a marker."""
    parts = [*prelude, block]
    futures = sorted({line for b in parts for line in FUTURE_IMPORT.findall(b.code)})
    body = [f"# ---- {b.id} ----\n{FUTURE_IMPORT.sub('', b.code)}" for b in parts]
    return "".join(futures) + "\n" + "\n".join(body)


@pytest.fixture(autouse=True)
def logging_as_before() -> Iterator[None]:
    """A page may configure logging (docs/logging.md does, as a user would): leave the process as it was."""
    from tomodachi.logging import configuration, custom

    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    custom_logger, default = custom._custom_logger, configuration._default_formatter
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    custom._custom_logger, configuration._default_formatter = custom_logger, default


def test_tours_have_python_blocks_and_tests() -> None:
    for document in TOURS:
        blocks = [b for b in python_blocks(document) if not b.skipped]
        assert blocks, f"{document} has no runnable ```python block"
        assert any(b.is_test for b in blocks), f"{document} shows no test of its services"


@pytest.mark.parametrize("block", [b for b in _all_blocks() if not b.is_test], ids=lambda b: b.id)
def test_code_block_runs(block: Block) -> None:
    if block.skipped:
        pytest.skip(f"marked {SKIP_MARKER}")
    exec_blocks([*_code_blocks_before(block), block], f"readme_block_{block.line}")


@pytest.mark.parametrize("block", [b for b in _all_blocks() if b.is_test], ids=lambda b: b.id)
def test_test_block_passes(block: Block, pytester: pytest.Pytester) -> None:
    if block.skipped:
        pytest.skip(f"marked {SKIP_MARKER}")
    pytester.makeini(INNER_INI)
    name = f"test_{Path(block.document).stem.replace('-', '_').lower()}_line_{block.line}"
    pytester.makepyfile(**{name: inner_module_source(_code_blocks_before(block), block)})
    result = pytester.runpytest(*INNER_ARGS)
    outcomes = result.parseoutcomes()
    expected = {"passed": len(block.test_names)}
    assert {k: v for k, v in outcomes.items() if k not in ("warnings", "warning")} == expected, "\n".join(
        result.outlines[-60:]
    )
