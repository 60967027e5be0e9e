"""The window of publishes written to RabbitMQ's confirm-mode channel and not confirmed yet: confirms (``multiple``
ones included) settle them, a lost channel's are re-published, and each fails by its deadline at the latest."""

from __future__ import annotations

import asyncio
from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tomodachi.logging import framework_logger
from tomodachi.messaging.amqp.connection import LINK_OR_TIMEOUT, AmqpChannel, AmqpLink, bounded, write_frame
from tomodachi.messaging.amqp.exceptions import AmqpChannelClosed, AmqpConnectionException, AmqpException
from tomodachi.messaging.amqp.wire import encode_publish, frame_max_of
from tomodachi.messaging.publish_scope import PublishScope

if TYPE_CHECKING:
    from tomodachi.messaging.amqp.real import RealAmqpBroker

logger = framework_logger("tomodachi.amqp")

# unconfirmed publishes per connection: one more waits for the oldest confirm (bounded memory; a sequential
# publisher pays RabbitMQ's confirm latency once per this many messages instead of once per message)
MAX_UNCONFIRMED = 1000
MAX_NACKS = 2  # a message RabbitMQ refused (nack) this often has failed; once is re-published
FAILED_HISTORY = 1000
PUBLISH_ERRORS: tuple[type[BaseException], ...] = (AmqpException, *LINK_OR_TIMEOUT)


class PublishRefused(AmqpException):
    """RabbitMQ answered a publish with a nack (e.g. its queue is full and rejects new messages)."""


@dataclass(frozen=True)
class FailedPublication:
    """A publish that was never confirmed (logged at ERROR too): the message may be lost."""

    message_id: str | None
    exchange: str
    routing_key: str
    reason: str


class Unconfirmed:
    """One publish written to RabbitMQ and not confirmed yet (kept to re-publish it if its channel dies)."""

    __slots__ = (
        "exchange",
        "routing_key",
        "body",
        "header",
        "message_id",
        "deadline",
        "scope",
        "strict",
        "hold",
        "waiter",
        "tag",
        "nacks",
        "done",
    )

    def __init__(
        self, exchange: str, routing_key: str, body: bytes, header: bytes, message_id: str | None, deadline: float
    ) -> None:
        self.exchange = exchange
        self.routing_key = routing_key
        self.body = body
        self.header = header  # encoded properties
        self.message_id = message_id
        self.deadline = deadline  # clock.monotonic() after which it counts as failed
        self.scope: PublishScope | None = None
        # strict: its publisher awaits the confirm and handles failures itself (never re-published by us)
        self.strict = False
        # hold: awaited one at a time after a channel error; a channel error while in flight makes it fail
        self.hold = False
        self.waiter: asyncio.Future[None] | None = None
        self.tag = 0
        self.nacks = 0
        self.done = False


class ConfirmWindow:
    """Publishes on one connection's confirm-mode channel that RabbitMQ has not confirmed yet (at most ``limit``).

    A confirm (ack) settles a publish; a nack re-publishes it once, then fails it. When the channel dies its
    unconfirmed publishes are re-published on the next one (at-least-once) — one by one after a channel error, so
    that only the message RabbitMQ refuses fails. A publish still unconfirmed at its deadline fails: logged at ERROR,
    kept in :attr:`failed`, reported to its publish scope. Strict publishes (awaited by their caller) are never
    re-published: their failure is raised to the caller instead.
    """

    def __init__(self, broker: RealAmqpBroker, limit: int = MAX_UNCONFIRMED) -> None:
        self.broker = broker
        self.clock = broker.clock
        self.limit = limit
        self.failed: deque[FailedPublication] = deque(maxlen=FAILED_HISTORY)
        self._channel: AmqpChannel | None = None  # the confirm-mode channel
        self._frame_max = 0
        self._pending: OrderedDict[int, Unconfirmed] = OrderedDict()  # by delivery tag on ``_channel``
        self._orphans: deque[Unconfirmed] = deque()  # their channel died: to publish again
        self._careful = False  # re-publish orphans one confirm at a time (a channel error killed their channel)
        self._verified: set[str] = set()  # exchanges a confirmed publish reached on ``_verified_link``
        self._verified_link: AmqpLink | None = None
        self._room_waiters: deque[asyncio.Future[None]] = deque()
        self._idle_waiters: list[asyncio.Future[None]] = []
        self._expiry: Any = None  # TimerHandle
        self._republisher: asyncio.Task[None] | None = None

    @property
    def unconfirmed(self) -> int:
        return len(self._pending) + len(self._orphans)

    def channel(self, exchange: str) -> AmqpChannel | None:
        """The open confirm channel, if publishes to ``exchange`` may be pipelined on it (else None)."""
        channel = self._channel
        if channel is not None and channel.is_open and exchange in self._verified:
            return channel
        return None

    def verified(self, link: AmqpLink, exchange: str) -> None:
        """A confirmed publish reached ``exchange`` on ``link``: later ones are pipelined."""
        if self._verified_link is link:
            self._verified.add(exchange)

    def is_verified(self, exchange: str) -> bool:
        return exchange in self._verified

    def forget_exchanges(self) -> None:
        """Have the next publish to each exchange confirmed before pipelining again (one may have been deleted)."""
        self._verified = set()

    @property
    def full(self) -> bool:
        return len(self._pending) + len(self._orphans) >= self.limit

    def track(self, record: Unconfirmed, scope: PublishScope | None) -> None:
        """Report ``record``'s outcome to ``scope`` too (the unit of work that published it)."""
        if scope is not None:
            record.scope = scope
            scope.track()

    async def publish_strict(self, link: AmqpLink, record: Unconfirmed) -> None:
        """Publish ``record`` and wait for its confirm; errors raise (``AmqpChannelClosed`` with RabbitMQ's code
        when the channel died of it, ``PublishRefused`` on a nack, ``AmqpConnectionException`` otherwise)."""
        record.strict = True
        channel = await self.adopt(link)
        record.waiter = asyncio.get_running_loop().create_future()
        record.done = False
        if not self.write(channel, record):
            raise AmqpConnectionException(f"publish [amqp] to {self.broker.where} failed: the connection is gone")
        await record.waiter

    async def adopt(self, link: AmqpLink) -> AmqpChannel:
        """The confirm channel of ``link`` (opened when missing), listened to by this window."""
        channel = await link.channel("publish")
        if channel is not self._channel:
            channel.confirm_listener = self._on_confirm
            channel.close_listener = self._on_closed
            self._channel = channel
            self._frame_max = frame_max_of(channel.protocol)
        if self._verified_link is not link:
            self._verified = set()
            self._verified_link = link
        return channel

    def write(self, channel: AmqpChannel, record: Unconfirmed) -> bool:
        """Write ``record`` on the confirm channel and add it to the window (False: that channel is gone)."""
        if channel is not self._channel:
            return False
        frame = encode_publish(
            channel.channel_id, record.exchange, record.routing_key, record.header, record.body, self._frame_max
        )
        if not write_frame(channel, frame):
            return False
        tag = next(channel.delivery_tag_iter)  # RabbitMQ numbers the publishes of a channel in the order received
        record.tag = tag
        self._pending[tag] = record
        if self._expiry is None:
            self._arm_expiry()
        return True

    async def room(self) -> None:
        """Wait until the window has room (the oldest publishes confirmed, failed or expired)."""
        waiter = asyncio.get_running_loop().create_future()
        self._room_waiters.append(waiter)
        await waiter

    def _wake_room(self) -> None:
        room = self.limit - len(self._pending) - len(self._orphans)
        waiters = self._room_waiters
        while waiters and room > 0:
            waiter = waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                room -= 1

    def _on_confirm(self, tag: int, multiple: bool, nack: bool) -> None:
        pending = self._pending
        if multiple:
            while pending:
                first = next(iter(pending))
                if first > tag:
                    break
                self._confirmed(pending.popitem(last=False)[1], nack)
        else:
            record = pending.pop(tag, None)
            if record is not None:
                self._confirmed(record, nack)
        if self._room_waiters:
            self._wake_room()
        if self._idle_waiters and not pending and not self._orphans:
            self._wake_idle()

    def _confirmed(self, record: Unconfirmed, nack: bool) -> None:
        if not nack:
            self._settle(record, None)
            return
        record.nacks += 1
        if record.strict or record.hold or record.nacks >= MAX_NACKS:
            self._settle(record, PublishRefused(f"RabbitMQ refused the message (nack, {record.nacks} time(s))"))
        else:
            self._orphans.append(record)
            self._start_republisher()

    def _settle(self, record: Unconfirmed, error: BaseException | None) -> None:
        if record.done:
            return
        record.done = True
        waiter = record.waiter
        if waiter is not None and not waiter.done():
            if error is None:
                waiter.set_result(None)
            else:
                waiter.set_exception(error)
        if error is not None and not record.strict:
            self._report_failed(record, error)
        scope = record.scope
        if scope is not None:
            record.scope = None
            scope.resolve(error)

    def _report_failed(self, record: Unconfirmed, error: BaseException) -> None:
        logger.error(
            "amqp publish not confirmed by RabbitMQ; the message may be lost",
            message_id=record.message_id,
            exchange=record.exchange,
            routing_key=record.routing_key,
            error=str(error) or repr(error),
        )
        self.failed.append(FailedPublication(record.message_id, record.exchange, record.routing_key, str(error)))

    def _on_closed(self, channel: AmqpChannel) -> None:
        """The confirm channel is gone: its unconfirmed publishes are re-published on the next one."""
        if channel is not self._channel:
            return
        self._channel = None
        code = channel.close_code
        if code is not None:
            self._verified = set()  # a channel error: maybe an exchange was deleted
            error: AmqpException = AmqpChannelClosed(
                f"publish to {self.broker.where}: {channel.close_reason or 'channel closed'}", code=code
            )
        else:
            error = AmqpConnectionException(f"publish [amqp] to {self.broker.where} failed: connection lost")
        pending = list(self._pending.values())
        self._pending.clear()
        orphans: list[Unconfirmed] = []
        for record in pending:
            if record.strict or (record.hold and code is not None):
                self._settle(record, error)
            else:
                if record.waiter is not None and not record.waiter.done():
                    record.waiter.set_exception(error)  # a careful re-publish: its connection died, not the message
                orphans.append(record)
        if code is not None and orphans:
            self._careful = True
        self._orphans.extendleft(reversed(orphans))
        if self._orphans:
            self._start_republisher()
        if self._room_waiters:
            self._wake_room()
        if self._idle_waiters and not self._orphans:
            self._wake_idle()

    # ---- re-publishing and deadlines ----------------------------------------------------------------------------

    def _start_republisher(self) -> None:
        if self._republisher is None or self._republisher.done():
            self._republisher = asyncio.get_running_loop().create_task(self._republish())
        if self._expiry is None:
            self._arm_expiry()

    async def _republish(self) -> None:
        orphans = self._orphans
        while orphans:
            try:
                deadline = min(record.deadline for record in orphans)
                link = await self.broker._ready_link(max(0.0, deadline - self.clock.monotonic()))
                channel = await self.adopt(link)
            except PUBLISH_ERRORS:
                # not reconnected (yet): the overdue ones fail by their deadline; the rest wait for the link
                if orphans:
                    await self.clock.sleep(0.1)
                continue
            careful, self._careful = self._careful, False
            while orphans and channel is self._channel and channel.is_open:
                if not careful and len(self._pending) >= self.limit:
                    await self.room()
                    continue
                record = orphans.popleft()
                if record.done:
                    continue
                if not self.write(channel, record):
                    orphans.appendleft(record)
                    break
                if careful:
                    # one at a time: if a message itself is refused (its channel closed again), only it fails
                    record.hold = True
                    record.waiter = asyncio.get_running_loop().create_future()
                    try:
                        await record.waiter
                    except PUBLISH_ERRORS:
                        pass
                    finally:
                        record.hold = False
                        record.waiter = None
            if self._idle_waiters and not self._pending and not orphans:
                self._wake_idle()

    def _arm_expiry(self) -> None:
        oldest = None
        if self._pending:
            oldest = next(iter(self._pending.values())).deadline
        if self._orphans:
            first = min(record.deadline for record in self._orphans)
            oldest = first if oldest is None else min(oldest, first)
        if oldest is None:
            self._expiry = None
            return
        self._expiry = self.clock.call_later(max(0.0, oldest - self.clock.monotonic()) + 0.001, self._expire)

    def _expire(self) -> None:
        self._expiry = None
        now = self.clock.monotonic()
        timeout = self.broker.publish_timeout
        pending = self._pending
        overdue = [record for record in pending.values() if record.deadline <= now]
        for record in overdue:
            pending.pop(record.tag, None)
            self._settle(
                record,
                AmqpConnectionException(f"publish [amqp] to {self.broker.where} not confirmed within {timeout:g}s"),
            )
        if self._orphans:
            late = [record for record in self._orphans if record.deadline <= now]
            if late:
                keep = [record for record in self._orphans if record.deadline > now]
                self._orphans.clear()  # in place: the re-publisher holds this deque
                self._orphans.extend(keep)
                for record in late:
                    self._settle(
                        record,
                        AmqpConnectionException(
                            f"publish [amqp] to {self.broker.where} not re-published within {timeout:g}s "
                            "(connection lost before RabbitMQ confirmed it)"
                        ),
                    )
        if self._room_waiters:
            self._wake_room()
        if self._idle_waiters and not pending and not self._orphans:
            self._wake_idle()
        self._arm_expiry()

    # ---- closing -------------------------------------------------------------------------------------------------

    def _wake_idle(self) -> None:
        waiters, self._idle_waiters = self._idle_waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def flush(self, timeout: float) -> None:
        """Wait until every unconfirmed publish is confirmed or has failed (each fails by its deadline at the
        latest); what is still unconfirmed after ``timeout`` fails now."""
        if not self._pending and not self._orphans:
            return
        waiter = asyncio.get_running_loop().create_future()
        self._idle_waiters.append(waiter)
        try:
            await bounded(self.clock, asyncio.shield(waiter), timeout, "unconfirmed publishes")
        except TimeoutError:
            pass
        self._fail_all(AmqpConnectionException(f"broker {self.broker.where} closed before RabbitMQ confirmed it"))

    def _fail_all(self, error: BaseException) -> None:
        records = [*self._pending.values(), *self._orphans]
        self._pending.clear()
        self._orphans.clear()
        for record in records:
            self._settle(record, error)
        self._wake_room()
        self._wake_idle()

    def reset(self) -> None:
        """Forget the channels and stop the timers (the broker closed its connection)."""
        self._fail_all(AmqpConnectionException(f"broker {self.broker.where} closed before RabbitMQ confirmed it"))
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None
        if self._republisher is not None:
            self._republisher.cancel()
            self._republisher = None
        self._channel = None
        self._verified = set()
        self._verified_link = None
