"""Reads back the Mermaid flowcharts tomodachi writes, strictly: every line must be understood, every edge must
join declared nodes. A tiny subset of Mermaid's grammar, enough to check the diagrams' structure."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

SHAPES = {"[": "]", "([": "])", "((": "))", "{{": "}}", "[(": ")]"}
NODE = re.compile(r"^(?P<id>[A-Za-z][A-Za-z0-9_]*)(?P<open>\(\[|\(\(|\{\{|\[\(|\[)\"(?P<label>[^\"]*)\"(?P<close>\S+)$")
EDGE = re.compile(r"^(?P<source>\w+) (?P<arrow>-->|-\.->|==>)(?:\|\"(?P<label>[^\"]*)\"\|)? (?P<target>\w+)$")
CLASS = re.compile(r"^class (?P<ids>[\w,]+) (?P<name>\w+)$")
CLASS_DEF = re.compile(r"^classDef (?P<name>\w+) .+$")
ENTITIES = {"#quot;": '"', "#lt;": "<", "#gt;": ">", "#amp;": "&", "#35;": "#"}


def unescape(text: str) -> str:
    for entity, char in ENTITIES.items():
        text = text.replace(entity, char)
    return text


@dataclass
class Flowchart:
    nodes: dict[str, tuple[str, str]] = field(default_factory=dict)  # id -> (shape opening, label)
    edges: list[tuple[str, str, str, str]] = field(default_factory=list)  # (source label, arrow, label, target label)
    classes: dict[str, set[str]] = field(default_factory=dict)  # class name -> labels

    def label(self, node_id: str) -> str:
        return self.nodes[node_id][1]

    def edges_from(self, label: str) -> list[tuple[str, str, str, str]]:
        return [edge for edge in self.edges if edge[0] == label]


def read_flowchart(text: str) -> Flowchart:
    lines = text.strip("\n").splitlines()
    if lines and lines[0].startswith("```mermaid"):
        assert lines[-1] == "```", "a fenced diagram must close its fence"
        lines = lines[1:-1]
    assert lines[0] == "flowchart LR", lines[0]
    chart = Flowchart()
    defined: set[str] = set()
    for number, raw in enumerate(lines[1:], start=2):
        line = raw.strip()
        if match := NODE.match(line):
            node_id, opening, closing = match["id"], match["open"], match["close"]
            assert SHAPES[opening] == closing, f"line {number}: shape {opening}…{closing}"
            assert node_id not in chart.nodes, f"line {number}: node {node_id} declared twice"
            label = "\n".join(unescape(part) for part in match["label"].split("<br/>"))
            chart.nodes[node_id] = (opening, label)
        elif match := EDGE.match(line):
            for end in (match["source"], match["target"]):
                assert end in chart.nodes, f"line {number}: edge to undeclared node {end}"
            label = unescape(match["label"] or "")
            chart.edges.append((chart.label(match["source"]), match["arrow"], label, chart.label(match["target"])))
        elif match := CLASS.match(line):
            ids = match["ids"].split(",")
            assert all(i in chart.nodes for i in ids), f"line {number}: class of undeclared node"
            chart.classes.setdefault(match["name"], set()).update(chart.label(i) for i in ids)
        elif match := CLASS_DEF.match(line):
            defined.add(match["name"])
        else:
            raise AssertionError(f"line {number} is not a node, edge or class: {raw!r}")
    assert set(chart.classes) <= defined, "a class is used without a classDef"
    return chart
