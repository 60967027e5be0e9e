"""The records tests read from the fakes and handles: published, queued and dead-lettered messages, handler
calls and pending work — one shape for AMQP and SNS+SQS alike."""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from tomodachi.runtime.observe import HandlerCallEvent

Bus = Literal["amqp", "aws_sns_sqs"]


def decode_payload(body: str | bytes) -> tuple[Any, dict[str, Any]]:
    """``(data, envelope metadata)`` of a payload: a JsonBase envelope is opened (compressed data included); any
    other JSON is its parsed value with no metadata; anything else is the text (or the bytes, if not UTF-8)."""
    if isinstance(body, bytes):
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return body, {}
    else:
        text = body
    try:
        message = json.loads(text)
    except ValueError:
        return text, {}
    if not (isinstance(message, dict) and isinstance(message.get("metadata"), dict) and "data" in message):
        return message, {}
    metadata: dict[str, Any] = dict(message["metadata"])
    data = message["data"]
    if metadata.get("data_encoding") == "base64_gzip_json" and isinstance(data, str):
        data = json.loads(zlib.decompress(base64.b64decode(data)).decode("utf-8"))
    return data, metadata


def unwrapped_sqs_body(body: str) -> str:
    """The message inside an SQS body that wraps one (an SNS notification, or the document a
    ``MessageBodyFormatter`` sends: ``Type`` ``Notification`` / ``Message``), else the body itself."""
    if not body.startswith("{"):
        return body
    try:
        parsed = json.loads(body)
    except ValueError:
        return body
    if (
        isinstance(parsed, dict)
        and parsed.get("Type") in ("Notification", "Message")
        and isinstance(parsed.get("Message"), str)
    ):
        return str(parsed["Message"])
    return body


class _Decoded:
    """``data`` and ``metadata`` decoded from ``payload`` on first access."""

    payload: str | bytes

    def _message(self) -> str | bytes:
        """What the handler's envelope parses: the payload itself, unless a record says otherwise."""
        return self.payload

    @property
    def data(self) -> Any:
        """The message as the consumer's handler sees it: a JsonBase envelope's ``data``, else the parsed JSON or
        the raw text."""
        return decode_payload(self._message())[0]

    @property
    def metadata(self) -> dict[str, Any]:
        """The envelope's ``metadata`` (``message_uuid``, ``timestamp``, ``topic`` …); empty for raw messages."""
        return decode_payload(self._message())[1]

    def text(self) -> str:
        """The payload as text (bytes decoded as UTF-8)."""
        payload = self.payload
        return payload if isinstance(payload, str) else payload.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The payload parsed as JSON: the whole envelope (``service``, ``metadata``, ``data``) for JsonBase."""
        return json.loads(self.payload)


@dataclass(frozen=True)
class PublishedMessage(_Decoded):
    """One message published into a bus, by a service or by the test.

    ``destination`` is the AMQP routing key, the SNS topic or (for an SQS send) the queue name, decoded, with the
    prefix the publisher's options added (``routing_key_prefix`` / ``topic_prefix``) and without a FIFO topic's
    ``.fifo``. ``delivered_to`` lists the queues it reached (empty: nobody subscribed; always empty on real
    wires, where the broker does not say).
    """

    bus: Bus
    kind: Literal["amqp", "sns", "sqs"]
    destination: str
    payload: str | bytes
    attributes: Mapping[str, Any]
    message_id: str
    time: datetime
    delivered_to: tuple[str, ...] = ()
    exchange_name: str | None = None
    group_id: str | None = None
    deduplication_id: str | None = None

    def _message(self) -> str | bytes:
        # an SQS send's body is the document its MessageBodyFormatter wrapped the message in
        payload = self.payload
        return unwrapped_sqs_body(payload) if self.kind == "sqs" and isinstance(payload, str) else payload

    @property
    def routing_key(self) -> str | None:
        return self.destination if self.kind == "amqp" else None

    @property
    def topic(self) -> str | None:
        return self.destination if self.kind == "sns" else None


def published_message(
    bus: Bus,
    kind: Literal["amqp", "sns", "sqs"],
    destination: str,
    payload: str | bytes,
    attributes: Mapping[str, Any],
    message_id: str,
    time: datetime,
    delivered_to: tuple[str, ...] = (),
    exchange_name: str | None = None,
    group_id: str | None = None,
    deduplication_id: str | None = None,
) -> PublishedMessage:
    """``PublishedMessage(...)`` as the fakes make one per publish: its fields written at once, not one by one
    through ``object.__setattr__`` as a frozen dataclass's ``__init__`` does (a third of a record's cost)."""
    record = object.__new__(PublishedMessage)
    record.__dict__.update(
        bus=bus,
        kind=kind,
        destination=destination,
        payload=payload,
        attributes=attributes,
        message_id=message_id,
        time=time,
        delivered_to=delivered_to,
        exchange_name=exchange_name,
        group_id=group_id,
        deduplication_id=deduplication_id,
    )
    return record


@dataclass(frozen=True)
class QueuedMessage(_Decoded):
    """A message sitting on a queue: ready, in flight (delivered, not yet settled) or waiting to become visible."""

    bus: Bus
    queue: str
    message_id: str
    payload: str | bytes  # what the consumer's envelope reads (an SNS notification's Message)
    body: str | bytes  # the raw body on the queue
    attributes: Mapping[str, Any]
    receive_count: int
    in_flight: bool = False
    group_id: str | None = None
    deduplication_id: str | None = None


@dataclass(frozen=True)
class DeadLetter(_Decoded):
    """A message a handler's pipeline gave up on while the test ran.

    ``kept`` is True when it went to a dead-letter queue (``dead_letter_queue``, or parked on its own queue when
    there is none) and False when it was dropped (acknowledged unhandled, as ``message_error_policy="upstream"``
    does). ``handler`` is ``"<service>.<handler>"``, or ``None`` when the broker itself moved it (SQS redrive).
    """

    bus: Bus
    queue: str
    handler: str | None
    reason: str
    payload: str | bytes
    attributes: Mapping[str, Any]
    receive_count: int
    kept: bool
    time: datetime
    message_id: str = ""
    dead_letter_queue: str | None = None

    def concerns(self, queue: str | None) -> bool:
        """Whether a test naming ``queue`` means this one: the queue it failed on, or the dead-letter queue that
        kept it (``None``: any queue)."""
        return queue is None or queue == self.queue or queue == self.dead_letter_queue

    def describe(self) -> str:
        where = f"{self.handler} on {self.queue}" if self.handler else self.queue
        if not self.kept:
            fate = "dropped"
        elif self.dead_letter_queue:
            fate = f"dead-lettered to {self.dead_letter_queue}"
        else:
            fate = "dead-lettered with no dead-letter queue to hold it"
        return f"{self.bus}: {where}: {fate} after {self.receive_count} receive(s): {self.reason}"


class HandlerCall:
    """One call of a handler: the arguments it was given by name, and its result or exception."""

    __slots__ = (
        "service",
        "handler",
        "transport",
        "result",
        "exception",
        "time",
        "_bind",
        "_arguments",
        "_func",
        "_args",
        "_kwargs",
    )

    def __init__(
        self,
        service: str,
        handler: str,
        transport: str,
        arguments: Mapping[str, Any] | Callable[[], Mapping[str, Any]],
        result: Any,
        exception: BaseException | None,
        time: datetime,
    ) -> None:
        self.service = service
        self.handler = handler
        self.transport = transport
        self.result = result
        self.exception = exception
        self.time = time
        self._bind = arguments if callable(arguments) else None
        self._arguments: Mapping[str, Any] | None = None if callable(arguments) else arguments
        self._func: Callable[..., object] | None = None
        self._args: Sequence[Any] = ()
        self._kwargs: Mapping[str, Any] = {}

    @classmethod
    def of(cls, event: HandlerCallEvent) -> HandlerCall:
        """The record of an observed call; its arguments are bound to names when a test first reads them. It
        keeps what binding needs, not the event or a bound method of it: a test system keeps one record per
        message, and every object kept is one more for each run of the cyclic garbage collector to visit."""
        call = cls.__new__(cls)
        call.service = event.service
        call.handler = event.handler
        call.transport = event.transport
        call.result = event.result
        call.exception = event.exception
        call.time = event.time
        call._bind = None
        call._arguments = None
        call._func = event.func
        call._args = event.args
        call._kwargs = event.kwargs
        return call

    @property
    def arguments(self) -> Mapping[str, Any]:
        """The handler's arguments by parameter name (``data``, ``request``, route groups …), ``self`` excluded."""
        if self._arguments is None:
            if self._func is not None:
                from tomodachi.runtime.observe import arguments_by_name

                self._arguments = arguments_by_name(self._func, self._args, self._kwargs)
            else:
                assert self._bind is not None
                self._arguments = self._bind()
        return self._arguments

    @property
    def data(self) -> Any:
        """``arguments["data"]``: what a JsonBase messaging handler received (``None`` if it took no ``data``)."""
        return self.arguments.get("data")

    def __repr__(self) -> str:
        outcome = f"exception={self.exception!r}" if self.exception is not None else f"result={self.result!r}"
        return f"HandlerCall({self.service}.{self.handler}, arguments={dict(self.arguments)!r}, {outcome})"


@dataclass(frozen=True)
class Pending:
    """Work that waits on the clock: what, where, and the virtual time at which it can go on."""

    bus: str
    kind: str  # "retry back-off" | "visibility timeout" | "message delay" | "consumer back-off" | "handler sleep"
    queue: str
    due: datetime
    message_id: str = ""
    detail: str = field(default="", compare=False)

    def __str__(self) -> str:
        message = f" message {self.message_id}" if self.message_id else ""
        detail = f" ({self.detail})" if self.detail else ""
        return f"{self.bus} {self.queue}:{message} {self.kind} until {self.due.isoformat()}{detail}"


@dataclass(frozen=True)
class TraceEvent:
    """One line of a delivery trace: when, and what happened."""

    time: datetime
    text: str
