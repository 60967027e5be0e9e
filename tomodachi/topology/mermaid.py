"""A topology as a Mermaid flowchart (GitHub renders it): services, routes, schedules, topics, queues, flows."""

from __future__ import annotations

import json
from collections.abc import Mapping

from tomodachi.topology.links import Feed, feeds, feeds_reached, unconsumed, unpublished
from tomodachi.topology.model import Publication, Subscription, Topology

BUS_LABELS = {"amqp": "AMQP", "aws_sns_sqs": "SNS"}
CLASS_DEFS = (
    "classDef unconsumed stroke:#d33,stroke-width:2px,stroke-dasharray:5 3",
    "classDef unpublished stroke:#d90,stroke-width:2px,stroke-dasharray:5 3",
)


def escape(text: str) -> str:
    """Text safe inside a quoted Mermaid label: ``#`` (which starts an entity code), quotes and angle brackets as
    entity codes."""
    text = text.replace("#", "#35;")
    return text.replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")


def _label(*lines: str) -> str:
    return '"' + "<br/>".join(escape(line) for line in lines) + '"'


class _Diagram:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self._ids: dict[tuple[str, ...], str] = {}
        self.classes: dict[str, list[str]] = {"unconsumed": [], "unpublished": []}

    def node(self, key: tuple[str, ...], prefix: str, shape: tuple[str, str], *label: str) -> str:
        """The id of the node for ``key``, declared with ``label`` the first time it is asked for."""
        if key not in self._ids:
            self._ids[key] = f"{prefix}{sum(1 for k in self._ids if k[0] == key[0]) + 1}"
            opening, closing = shape
            self.lines.append(f"  {self._ids[key]}{opening}{_label(*label)}{closing}")
        return self._ids[key]

    def declared(self, key: tuple[str, ...]) -> str:
        """The id of a node declared earlier."""
        return self._ids[key]

    def edge(self, source: str, target: str, label: str | None = None, arrow: str = "-->") -> None:
        self.lines.append(f"  {source} {arrow}|{_label(label)}| {target}" if label else f"  {source} {arrow} {target}")


def _source_key(sub: Subscription) -> tuple[str, ...]:
    return ("source", sub.bus, sub.source or "")


def _source_lines(sub: Subscription, extra: str | None) -> tuple[str, ...]:
    name = f"{BUS_LABELS[sub.bus]} {sub.source}"
    return (name, extra) if extra else (name,)


def _destination_lines(publication: Publication) -> tuple[str, ...]:
    kind = {"amqp": "AMQP", "sns": "SNS", "sqs": "SQS"}[publication.kind]
    return (f"{kind} {publication.destination}", "nobody consumes")


def _consumed_label(topology: Topology, feed: Feed) -> str:
    flows = topology.flows
    handler = feed.subscription.handler
    if flows is None:
        return handler
    key = (feed.service, handler)
    runs = flows.consumed[key]
    parts = [f"{handler}: {runs} run{'s' if runs != 1 else ''}"]
    if flows.failed[key]:
        parts.append(f"{flows.failed[key]} failed")
    if flows.dead_lettered[key] and not feed.subscription.dead_letter_queue:
        parts.append(f"{flows.dead_lettered[key]} given up")
    return ", ".join(parts)


def _policy(policy: Mapping[str, object] | None) -> str | None:
    return "filter " + json.dumps(policy, sort_keys=True, separators=(",", ":")) if policy else None


def to_mermaid(topology: Topology) -> str:
    """The flowchart of ``topology``; with observed flows, edges carry counts and the loose ends are called out."""
    diagram = _Diagram()
    silent = {id(feed.subscription) for feed in unpublished(topology)}
    services = {service.name: diagram.node(("service", service.name), "svc", ("[", "]"), service.name)
                for service in topology.services}  # fmt: skip
    for service in topology.services:
        for route in service.routes:
            text = f"{' '.join(route.methods)} {route.path}".strip() if route.kind != "error" else route.path
            kind = "HTTP" if route.kind in ("http", "static") else route.kind
            route_id = diagram.node(
                ("route", service.name, route.handler, route.path), "http", ("([", "])"), kind, text
            )
            diagram.edge(route_id, services[service.name], route.handler)
        for schedule in service.schedules:
            schedule_id = diagram.node(("schedule", service.name, schedule.handler), "sch", ("((", "))"), schedule.when)
            diagram.edge(schedule_id, services[service.name], schedule.handler)
    for feed in feeds(topology):
        sub = feed.subscription
        queue_id = diagram.node(("queue", sub.bus, sub.queue), "q", ("[(", ")]"), sub.queue)
        nobody = "nobody published" if id(sub) in silent else None
        if sub.source is not None:
            source_id = diagram.node(_source_key(sub), "src", ("{{", "}}"), *_source_lines(sub, nobody))
            diagram.edge(source_id, queue_id, _policy(sub.filter_policy))
            if nobody:
                diagram.classes["unpublished"].append(source_id)
        elif nobody:
            diagram.classes["unpublished"].append(queue_id)
        diagram.edge(queue_id, services[feed.service], _consumed_label(topology, feed))
        if sub.dead_letter_queue:
            dlq_id = diagram.node(("queue", sub.bus, sub.dead_letter_queue), "q", ("[(", ")]"), sub.dead_letter_queue)
            given_up = topology.flows.dead_lettered[(feed.service, sub.handler)] if topology.flows else 0
            diagram.edge(queue_id, dlq_id, f"{given_up} dead-lettered" if given_up else "dead letters", "-.->")
    if topology.flows is not None:
        _publishes(diagram, topology, services)
    lines = ["flowchart LR", *diagram.lines]
    for name, ids in diagram.classes.items():
        if ids:
            lines.append(f"  class {','.join(dict.fromkeys(ids))} {name}")
    lines.extend(f"  {line}" for line in CLASS_DEFS)
    return "\n".join(lines) + "\n"


def _publishes(diagram: _Diagram, topology: Topology, services: dict[str, str]) -> None:
    assert topology.flows is not None
    lost = set(unconsumed(topology))
    for publication, count in topology.flows.published.items():
        if publication.service not in services:  # a publisher that was not described (e.g. the test itself)
            services[publication.service] = diagram.node(
                ("service", publication.service), "svc", ("[", "]"), publication.service
            )
        publisher = services[publication.service]
        if publication in lost:
            target = diagram.node(("out", publication.kind, publication.destination), "out", ("{{", "}}"),
                                  *_destination_lines(publication))  # fmt: skip
            diagram.classes["unconsumed"].append(target)
            diagram.edge(publisher, target, f"{count} published", "==>")
            continue
        targets: dict[str, str] = {}
        for feed in feeds_reached(topology, publication):
            sub = feed.subscription
            if publication.kind == "sqs" or sub.source is None:
                key: tuple[str, ...] = ("queue", sub.bus, sub.queue)
            else:
                key = _source_key(sub)
            target_id = diagram.declared(key)  # every feed's source and queue were drawn above
            exact = publication.kind == "sqs" or sub.source == publication.destination
            targets[target_id] = f"{count} published" if exact else f"{count} × {publication.destination}"
        for target_id, label in targets.items():
            diagram.edge(publisher, target_id, label, "==>")
