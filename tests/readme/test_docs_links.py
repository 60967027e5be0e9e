"""Every relative link of README.md, CHANGELOG.md and docs/*.md leads somewhere: to a file of this repository
and, for ``page.md#anchor`` (or ``#anchor`` on the same page), to a heading of that page.

Anchors are GitHub's: a heading's text, lower-cased, with everything but letters, digits, ``_``, ``-`` and
spaces removed and spaces turned into ``-``; a repeated heading gets ``-1``, ``-2``… Links in code (fenced
blocks, inline code spans) are not links. External ``http(s)://`` and ``mailto:`` links are not checked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = ("README.md", "CHANGELOG.md", *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.md")))

FENCE = re.compile(r"^\s*(```|~~~)")
CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1")
INLINE_LINK = re.compile(
    r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+(?:\"[^\"]*\"|'[^']*'|\([^)]*\)))?\s*\)"
)
REFERENCE_DEFINITION = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$")
ATX_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
HTML_ANCHOR = re.compile(r"<a\s+(?:name|id)=\"([^\"]+)\"", flags=re.IGNORECASE)
EXTERNAL = re.compile(r"^(?:[a-z][a-z0-9+.-]*:|//)", flags=re.IGNORECASE)


@dataclass(frozen=True)
class Link:
    document: str
    line: int
    target: str

    def __str__(self) -> str:
        return f"{self.document}:{self.line}: ({self.target})"


def prose_lines(text: str) -> list[tuple[int, str]]:
    """The lines outside fenced code blocks, numbered from 1."""
    lines: list[tuple[int, str]] = []
    fence: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        opening = FENCE.match(line)
        if fence is None and opening:
            fence = opening.group(1)
        elif fence is not None:
            if line.strip().startswith(fence):
                fence = None
        else:
            lines.append((number, line))
    return lines


def links_of(document: str) -> list[Link]:
    found: list[Link] = []
    previous = ""
    for number, raw in prose_lines((ROOT / document).read_text(encoding="utf-8")):
        line = CODE_SPAN.sub(lambda m: " " * len(m.group(0)), raw)  # `[a](b)` in code is not a link
        targets = [m.group(1) for m in INLINE_LINK.finditer(line)]
        # a reference definition never continues a paragraph: it follows a blank line or another definition
        definition = REFERENCE_DEFINITION.match(line)
        if definition and (not previous.strip() or REFERENCE_DEFINITION.match(previous)):
            targets.append(definition.group(1))
        previous = line
        found.extend(Link(document, number, target) for target in targets if not EXTERNAL.match(target))
    return found


def github_slug(heading: str) -> str:
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link in a heading reads as its text
    text = re.sub(r"[^\w\- ]", "", text.strip().lower())
    return text.replace(" ", "-")


def anchors_of(path: Path) -> set[str]:
    anchors: set[str] = set()
    seen: dict[str, int] = {}
    for _, line in prose_lines(path.read_text(encoding="utf-8")):
        anchors.update(HTML_ANCHOR.findall(line))
        match = ATX_HEADING.match(line)
        if match is None:
            continue
        slug = github_slug(match.group(2).replace("`", ""))  # code in a heading reads as its text
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        anchors.add(slug if count == 0 else f"{slug}-{count}")
    return anchors


def broken(link: Link) -> str | None:
    """Why ``link`` leads nowhere, or None when it resolves."""
    path_part, _, anchor = link.target.partition("#")
    source = ROOT / link.document
    target = (source.parent / unquote(path_part)).resolve() if path_part else source
    if not target.is_relative_to(ROOT):
        return "leads outside the repository"
    if not target.exists():
        return f"no such file: {target.relative_to(ROOT)}"
    if anchor and target.suffix == ".md":
        if target.is_dir() or unquote(anchor).lower() not in anchors_of(target):
            return f"no heading #{anchor} in {target.relative_to(ROOT)}"
    return None


@pytest.mark.parametrize("document", DOCUMENTS)
def test_relative_links_lead_to_existing_files_and_headings(document: str) -> None:
    problems = [f"{link}: {reason}" for link in links_of(document) if (reason := broken(link)) is not None]
    assert not problems, "broken links:\n" + "\n".join(problems)


def test_the_link_checker_reads_links_and_anchors_as_github_does(tmp_path: Path) -> None:
    assert github_slug("settle() and run_until_idle()") == "settle-and-run_until_idle"
    assert github_slug("AWS SNS+SQS") == "aws-snssqs"
    assert github_slug("Retries and dead letters (the extra wire objects)") == (
        "retries-and-dead-letters-the-extra-wire-objects"
    )
    page = ROOT / "docs" / "testing.md"
    assert {"reference", "real-wires", "faults-fault-plans-and-replay"} <= anchors_of(page)
    page = tmp_path / "page.md"
    page.write_text("see [a](a.md#b) and `[c](d.md)`\n```\n[e](f.md)\n```\n[g](h.md 'x')\n[p]: p.md\n\n[r]: r.md\n")
    assert [(link.line, link.target) for link in links_of(str(page))] == [(1, "a.md#b"), (5, "h.md"), (8, "r.md")]


def test_a_missing_file_a_missing_heading_and_a_way_out_of_the_repository_are_broken() -> None:
    def why(target: str) -> str | None:
        return broken(Link("README.md", 1, target))

    assert why("docs/testing.md#reference") is None
    assert why("#running-services") is None
    assert why("docs/testing.md#no-such-heading") == "no heading #no-such-heading in docs/testing.md"
    assert why("docs/no-such-page.md") == "no such file: docs/no-such-page.md"
    assert why("../elsewhere.md") == "leads outside the repository"
