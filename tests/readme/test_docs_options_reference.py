"""docs/options.md's reference table is the Options schema: every key, its types and its default."""

from __future__ import annotations

from pathlib import Path

from tests.readme.options_reference import options_table

PAGE = (Path(__file__).resolve().parents[2] / "docs" / "options.md").read_text(encoding="utf-8")


def test_the_options_reference_lists_every_option_with_its_types_and_default() -> None:
    expected = options_table()
    assert expected in PAGE, "docs/options.md's reference table differs from the schema; regenerate it:\n" + expected
