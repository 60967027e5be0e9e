"""`tomodachi run --brokers memory --inspect PORT`: an HTTP view of the in-memory brokers while they run."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from aiohttp import web

from tomodachi.topology.model import Topology

if TYPE_CHECKING:
    from tomodachi.messaging.amqp.memory import MemoryAmqpBroker
    from tomodachi.messaging.sns_sqs.memory import MemorySnsSqsBroker

PREVIEW = 200  # characters of a message body shown
RECENT = 50  # publishes shown unless ?recent= asks for another number


def _preview(body: str | bytes) -> dict[str, object]:
    """``{"data": ...}`` for a JsonBase envelope (what the handler gets), else ``{"body": <text, shortened>}``."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and parsed.get("Type") == "Notification" and isinstance(parsed.get("Message"), str):
        return _preview(parsed["Message"])  # an SNS notification sent on to a dead-letter queue
    if isinstance(parsed, dict) and "data" in parsed and "metadata" in parsed:
        return {"data": parsed["data"]}
    return {"body": text if len(text) <= PREVIEW else text[:PREVIEW] + "…"}


def _time(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=timezone.utc).isoformat(timespec="milliseconds")


def amqp_view(broker: MemoryAmqpBroker, recent: int = RECENT) -> dict[str, object]:
    """Queues with depths, dead letters and recent publishes of a memory AMQP broker."""
    from tomodachi.messaging.amqp.naming import decode_routing_key

    queues = [
        {
            "name": name,
            "ready": broker.queue_depth(name),
            "unacked": broker.unacked_count(name),
            "consumers": broker.consumer_count(name),
            "dead_letter_queue": getattr(broker.queues[name], "dead_letter_queue", None),
        }
        for name in broker.queue_names()
    ]
    dead_letters = [
        {
            "queue": record.queue_name,
            "dead_letter_queue": record.dead_letter_queue,
            "routing_key": record.routing_key,
            "reason": record.reason,
            "delivery_count": record.delivery_count,
            **_preview(record.body),
        }
        for record in broker.dead_letters
    ]
    published = [
        {
            "time": _time(record.timestamp),
            "exchange": record.exchange_name,
            "routing_key": decode_routing_key(record.routing_key),
            "routed_to": list(record.routed_to),
            **_preview(record.body),
        }
        for record in list(broker.published)[-recent:]
    ] if recent else []  # fmt: skip
    return {"queues": queues, "dead_letters": dead_letters, "recent": published}


def sns_sqs_view(broker: MemorySnsSqsBroker, recent: int = RECENT) -> dict[str, object]:
    """Topics, subscriptions, queues with depths, dead letters and recent publishes of a memory SNS+SQS broker."""
    from tomodachi.messaging.sns_sqs.naming import decode_topic

    queues: list[dict[str, object]] = []
    dead_letters: list[dict[str, object]] = []
    for name in broker.queues():
        messages = broker.messages(name)
        dead_letter_queue = broker.dead_letter_queue_of(name)
        queues.append(
            {
                "name": name,
                "visible": sum(1 for m in messages if not m.in_flight),
                "in_flight": sum(1 for m in messages if m.in_flight),
                "dead_letter_queue": dead_letter_queue,
            }
        )
        if dead_letter_queue and dead_letter_queue in broker.queues():
            dead_letters.extend(
                {
                    "queue": name,
                    "dead_letter_queue": dead_letter_queue,
                    "message_id": m.message_id,
                    **_preview(m.payload),
                }
                for m in broker.messages(dead_letter_queue)
            )
    subscriptions = [
        {"topic": decode_topic(s.topic), "queue": s.queue, "filter_policy": s.filter_policy}
        for s in broker.subscriptions()
    ]
    published = [
        {
            "time": _time(record.timestamp),
            "topic": decode_topic(record.topic) if record.queue is None else None,
            "queue": record.queue,
            "delivered_to": list(record.delivered_to),
            **_preview(record.message),
        }
        for record in list(broker.published)[-recent:]
    ] if recent else []  # fmt: skip
    return {
        "topics": [decode_topic(topic) for topic in broker.topics()],
        "subscriptions": subscriptions,
        "queues": queues,
        "dead_letters": dead_letters,
        "recent": published,
    }


# by bus; each view reads the memory broker of its bus
VIEWS: dict[str, Callable[[Any, int], dict[str, object]]] = {"amqp": amqp_view, "aws_sns_sqs": sns_sqs_view}


def snapshot(brokers: Mapping[str, object], recent: int = RECENT) -> dict[str, object]:
    return {bus: VIEWS[bus](broker, recent) for bus, broker in brokers.items()}


class InspectServer:
    """``GET /``: the brokers as JSON (``?recent=N`` publishes); ``GET /topology``: the observed flows as Mermaid
    (``?format=text`` or ``json``)."""

    def __init__(self, brokers: Mapping[str, object], topology: Callable[[], Topology], host: str, port: int) -> None:
        self.brokers = brokers
        self.topology = topology
        self.host, self.port = host, port
        self._runner: web.AppRunner | None = None

    async def start(self) -> str:
        """Bind and serve; returns the URL (with the port chosen when 0 was asked for)."""
        app = web.Application()
        app.router.add_get("/", self._brokers)
        app.router.add_get("/topology", self._topology)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        try:
            await site.start()
        except OSError:
            await self.stop()
            raise
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        port = sockets[0].getsockname()[1] if sockets else self.port
        return f"http://{self.host}:{port}/"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _brokers(self, request: web.Request) -> web.Response:
        try:
            recent = max(0, int(request.query.get("recent", RECENT)))
        except ValueError:
            return web.Response(status=400, text="recent must be a whole number\n")
        body = json.dumps(snapshot(self.brokers, recent), indent=2, default=str)
        return web.Response(text=body + "\n", content_type="application/json")

    async def _topology(self, request: web.Request) -> web.Response:
        from tomodachi.topology.command import FORMATS, render

        chosen = request.query.get("format", "mermaid")
        if chosen not in FORMATS:
            return web.Response(status=400, text=f"format must be one of {', '.join(FORMATS)}\n")
        content_type = "application/json" if chosen == "json" else "text/plain"
        return web.Response(text=render(self.topology(), chosen), content_type=content_type)
