"""What both fakes share: the test's sender stand-in, argument checks for fault methods, envelope building, and
the dead-letter / settle vocabulary over the test's ledger."""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Final

from tomodachi.messaging.broker import remember_environment
from tomodachi.messaging.unset import UNSET
from tomodachi.runtime.clock import Clock
from tomodachi.runtime.observe import MessageLostEvent
from tomodachi.testing.clock import Duration, parse_duration
from tomodachi.testing.ledger import Ledger
from tomodachi.testing.records import Bus, DeadLetter, Pending, PublishedMessage, unwrapped_sqs_body
from tomodachi.testing.settle import DEFAULT_SETTLE_TIMEOUT, run_until_idle, settle

if TYPE_CHECKING:
    from tomodachi.options import Options
    from tomodachi.runtime.environment import Environment


class TestSender:
    """Stands in for the sending service when a test publishes: what envelopes read from a service."""

    __test__ = False  # not a pytest test class
    name = "tomodachi-test"
    uuid = "00000000-0000-0000-0000-000000000000"
    message_envelope: Any = None

    def __init__(self, options: Options | None = None, environment: Environment | None = None) -> None:
        self.options = options
        self.context: dict[str, Any] = {}
        if environment is not None:
            remember_environment(self, environment)


DEFAULT_ENVELOPE: Final = UNSET  # publish(envelope=...) not given: JsonBase


def publish_envelope(envelope: object) -> object:
    """The envelope a test's publish uses: JsonBase unless it gave one (``None`` for a raw body)."""
    return envelope if envelope is not DEFAULT_ENVELOPE else _json_base()


@functools.cache
def _json_base() -> type:
    from tomodachi.envelope import JsonBase  # not at import: the plugin loads this module in every pytest run

    return JsonBase


def raw_text(data: Any) -> str:
    """A raw SNS/SQS body (text only): str as given, bytes decoded, anything else as JSON."""
    if isinstance(data, bytes):
        return data.decode("utf-8")
    return data if isinstance(data, str) else json.dumps(data)


async def build_body(envelope: object, sender: object, destination: str, data: Any, **kwargs: Any) -> str | bytes:
    """``data`` wrapped by ``envelope``; with ``envelope=None`` the raw body: str/bytes as given, else JSON."""
    if envelope is None:
        return data if isinstance(data, (str, bytes)) else json.dumps(data)
    if not hasattr(envelope, "build_message"):
        raise TypeError(f"envelope must have a build_message() method (e.g. JsonBase) or be None, not {envelope!r}")
    built = await envelope.build_message(sender, destination, data, **kwargs)
    return built if isinstance(built, (str, bytes)) else str(built)


def check_attributes(attributes: object) -> None:
    """A publish's ``attributes``: ``None`` or a mapping of names to values."""
    if attributes is not None and not (
        isinstance(attributes, Mapping) and all(isinstance(name, str) for name in attributes)
    ):
        raise TypeError(f"attributes must be a mapping of names (str) to values, or None, not {attributes!r}")


def check_times(times: object) -> int:
    if isinstance(times, bool) or not isinstance(times, int):
        raise TypeError(f"times must be an int (how many), not {times!r}")
    if times < 1:
        raise ValueError(f"times must be at least 1, not {times}")
    return times


def check_exception(exc: object, default: BaseException) -> BaseException:
    """``exc`` as an exception instance to raise (a class is instantiated); ``None`` gives ``default``."""
    if exc is None:
        return default
    if isinstance(exc, BaseException):
        return exc
    if isinstance(exc, type) and issubclass(exc, BaseException):
        return exc()
    raise TypeError(f"exc must be an exception instance or class, not {exc!r}")


def dead_letter_from_event(event: MessageLostEvent, dead_letter_queue: str | None = None) -> DeadLetter:
    """The test-facing record of a message the pipeline gave up on."""
    delivery = event.delivery
    metadata = delivery.metadata
    if event.bus == "amqp":
        queue = str(metadata.get("queue_name", ""))
        message_id = str(getattr(metadata.get("properties"), "message_id", "") or delivery.delivery_id)
        payload: str | bytes = delivery.body
        attributes = dict(delivery.attributes)
    else:
        from tomodachi.messaging.sns_sqs import attributes as attribute_codec

        queue = str(metadata.get("queue_url", "")).rstrip("/").rsplit("/", 1)[-1]
        message_id = str(metadata.get("sqs_message_id", "") or delivery.delivery_id)
        payload = unwrapped_sqs_body(delivery.text())
        # plain values, as the handler's message_attributes: the SQS message's own, else its SNS notification's
        attributes = attribute_codec.decode(delivery.attributes) or notification_attributes(delivery.text())
    return DeadLetter(
        bus=_bus(event.bus),
        queue=queue,
        handler=f"{event.service}.{event.handler}",
        reason=event.reason,
        payload=payload,
        attributes=attributes,
        receive_count=delivery.receive_count,
        kept=event.kept,
        time=event.time,
        message_id=message_id,
        dead_letter_queue=dead_letter_queue if event.kept else None,
    )


def notification_attributes(body: str) -> dict[str, Any]:
    """The SNS message attributes of a notification body as plain values (``{}`` for any other body)."""
    if not body.startswith("{"):
        return {}
    try:
        parsed = json.loads(body)
    except ValueError:
        return {}
    if not (isinstance(parsed, dict) and parsed.get("Type") == "Notification"):
        return {}
    from tomodachi.messaging.sns_sqs import attributes as attribute_codec

    encoded = parsed.get("MessageAttributes")
    return attribute_codec.decode(encoded) if isinstance(encoded, dict) else {}


def _bus(name: str) -> Bus:
    return "amqp" if name == "amqp" else "aws_sns_sqs"


class FakeBase:
    """The shared half of both fakes: records, dead letters and settling (each bus adds publish and its views)."""

    bus: Bus

    def __init__(self, clock: Clock, ledger: Ledger) -> None:
        self.clock = clock
        self.ledger = ledger
        ledger.dead_letter_factories[self.bus] = self._dead_letter
        self._last_time: tuple[float, datetime] | None = None

    # -- records ---------------------------------------------------------------------------------------------

    def published(self, destination: str | None = None) -> list[PublishedMessage]:
        """Every message published on this bus so far (by services and by the test), oldest first; only those
        to ``destination`` (routing key, topic, or queue for SQS sends) when given."""
        records = self._published()
        return records if destination is None else [r for r in records if r.destination == destination]

    def _published(self) -> list[PublishedMessage]:
        raise NotImplementedError

    def dead_letters(self, queue: str | None = None) -> list[DeadLetter]:
        """Messages given up on while the test ran (dead-lettered or dropped), oldest first; only those that
        failed on ``queue``, or went to the dead-letter queue ``queue``, when given. Reading them does not count
        as noticing them: see take_dead_letters()."""
        self._check_known(queue)
        return [d for d in self.ledger.losses if d.bus == self.bus and d.concerns(queue)]

    def take_dead_letters(self, queue: str | None = None) -> list[DeadLetter]:
        """Like dead_letters(), and marks them noticed so they do not fail the test at teardown: they are
        removed from dead_letters()."""
        self._check_known(queue)
        return self.ledger.take_losses(self.bus, queue)

    def expect_dead_letters(self, queue: str | None = None) -> None:
        """Declare that messages on ``queue`` (any queue of this bus when ``None``) may be lost in this test."""
        if queue is not None and not isinstance(queue, str):
            raise TypeError(f"queue must be a queue name or None, not {queue!r}")
        # not checked against the declared queues: a test may expect losses before its services declare them
        self.ledger.expect_losses(self.bus, queue)

    def _check_known(self, queue: str | None) -> None:
        """A queue name must name a queue that lost a message or a declared one: a typo is an error, not ``[]``."""
        if queue is not None and not any(d.concerns(queue) for d in self.ledger.losses):
            self._check_queue(queue)

    def _check_queue(self, queue: str | None) -> None:
        """A queue name the test passed must name a declared queue (real wires cannot tell: no check there)."""

    def _dead_letter(self, event: MessageLostEvent) -> DeadLetter:
        return dead_letter_from_event(event)

    # -- settling --------------------------------------------------------------------------------------------

    async def settle(self, timeout: float = DEFAULT_SETTLE_TIMEOUT) -> None:
        """Deliver until no message of this bus is in flight or ready at the current virtual time (follow-up
        publishes included). Never moves the clock: what waits on it is listed by pending()."""
        await settle([self], self.clock, timeout)

    async def run_until_idle(self, limit: Duration = timedelta(days=1)) -> None:
        """Advance the virtual clock through every back-off and timeout of this bus until nothing is pending."""
        await run_until_idle([self], self.clock, parse_duration(limit))

    def pending(self) -> list[Pending]:
        """What waits on the clock (retry back-offs, visibility timeouts, delays …), earliest first."""
        return []

    def busy(self, detail: bool = False) -> list[str]:
        """What of this bus can still progress at the current virtual time (the first item only, unless detail)."""
        return []

    def changed(self) -> asyncio.Event:
        """Set on every change of this bus's state."""
        raise NotImplementedError

    def is_idle(self) -> bool:
        """Nothing of this bus can progress at the current virtual time."""
        return not self.busy()

    def _time(self, epoch_seconds: float) -> datetime:
        # every record of a burst of publishes carries the same virtual instant: its datetime is made once
        last = self._last_time
        if last is None or last[0] != epoch_seconds:
            last = self._last_time = (epoch_seconds, datetime.fromtimestamp(epoch_seconds, tz=timezone.utc))
        return last[1]
