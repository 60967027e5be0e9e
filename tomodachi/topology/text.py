"""A topology as plain text for a terminal, and as JSON for tools."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from tomodachi.topology.links import unconsumed, unpublished
from tomodachi.topology.model import Subscription, Topology

BUS_NAMES = {"amqp": "amqp", "aws_sns_sqs": "sns+sqs"}


def _subscription_line(sub: Subscription) -> str:
    source = f"{sub.source} → " if sub.source is not None else ""
    details = []
    if sub.filter_policy:
        details.append("filter " + json.dumps(sub.filter_policy, sort_keys=True, separators=(",", ":")))
    if sub.dead_letter_queue:
        details.append(f"dead letters → {sub.dead_letter_queue}")
    suffix = f" ({'; '.join(details)})" if details else ""
    return f"  {BUS_NAMES[sub.bus]:<9} {source}queue {sub.queue}{suffix} → {sub.handler}"


def to_text(topology: Topology) -> str:
    lines: list[str] = []
    for service in topology.services:
        lines.append(f"{service.name}" + (f"  ({service.file})" if service.file else ""))
        for route in service.routes:
            where = route.path if route.kind == "error" else f"{','.join(route.methods)} {route.path}"
            lines.append(f"  {route.kind:<9} {where} → {route.handler}")
        lines.extend(_subscription_line(sub) for sub in service.subscriptions)
        lines.extend(f"  {'schedule':<9} {s.when} → {s.handler}" for s in service.schedules)
        if not (service.routes or service.subscriptions or service.schedules):
            lines.append("  (no handlers)")
    flows = topology.flows
    if flows is not None:
        lines.append("observed")
        for publication, count in flows.published.items():
            lines.append(f"  {publication.service} published {count} × {publication.kind} {publication.destination}")
        for (service_name, handler), count in flows.consumed.items():
            failed = flows.failed[(service_name, handler)]
            runs = f"{count} run{'s' if count != 1 else ''}"
            lines.append(f"  {service_name}.{handler}: {runs}" + (f", {failed} failed" if failed else ""))
        for (service_name, handler), count in flows.dead_lettered.items():
            lines.append(f"  {service_name}.{handler} gave up on {count}")
        for publication in unconsumed(topology):
            lines.append(f"  ! nobody consumes {publication.kind} {publication.destination} ({publication.service})")
        for feed in unpublished(topology):
            what = feed.subscription.source or f"queue {feed.subscription.queue}"
            lines.append(f"  ! nobody published to {what} ({feed.service}.{feed.subscription.handler})")
    return "\n".join(lines) + "\n"


def to_json(topology: Topology) -> str:
    document: dict[str, Any] = {"services": [asdict(service) for service in topology.services]}
    flows = topology.flows
    if flows is not None:
        document["observed"] = {
            "published": [{**asdict(p), "count": n} for p, n in flows.published.items()],
            "runs": [
                {"service": s, "handler": h, "count": n, "failed": flows.failed[(s, h)]}
                for (s, h), n in flows.consumed.items()
            ],  # fmt: skip
            "given_up": [{"service": s, "handler": h, "count": n} for (s, h), n in flows.dead_lettered.items()],
            "unconsumed": [asdict(p) for p in unconsumed(topology)],
            "unpublished": [{"service": f.service, "handler": f.subscription.handler} for f in unpublished(topology)],
        }
    return json.dumps(document, indent=2, default=str) + "\n"
