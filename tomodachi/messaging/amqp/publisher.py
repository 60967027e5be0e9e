"""How a RabbitMQ broker publishes: pipelined on a confirm-mode channel (the confirm awaited per batch, at the end
of the unit of work) or fire-and-forget, and the copies the broker makes itself, each confirmed before it returns."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from tomodachi.logging import framework_logger
from tomodachi.messaging.amqp.confirms import MAX_UNCONFIRMED, ConfirmWindow, FailedPublication, Unconfirmed
from tomodachi.messaging.amqp.connection import (
    LINK_ERRORS,
    LINK_OR_TIMEOUT,
    AmqpChannel,
    AmqpLink,
    bounded,
    write_frame,
)
from tomodachi.messaging.amqp.descriptors import AmqpProperties, AmqpPublication
from tomodachi.messaging.amqp.exceptions import AmqpChannelClosed, AmqpConnectionException
from tomodachi.messaging.amqp.naming import declarable
from tomodachi.messaging.amqp.wire import encode_properties, encode_publish
from tomodachi.messaging.publish_scope import current_scope

if TYPE_CHECKING:
    from collections import deque

    from tomodachi.messaging.amqp.real import RealAmqpBroker

logger = framework_logger("tomodachi.amqp")

# bytes waiting in the socket's buffer above which a publish waits for it to drain (RabbitMQ throttling us)
WRITE_BUFFER_LIMIT = 256 * 1024


class AmqpPublisher:
    """The publish side of one :class:`~tomodachi.messaging.amqp.real.RealAmqpBroker` (one connection).

    With ``publisher_confirms`` a publish is written on the confirm-mode channel and registered in the
    :class:`~tomodachi.messaging.amqp.confirms.ConfirmWindow`, then returns; the unit of work's
    :mod:`~tomodachi.messaging.publish_scope` awaits the confirm (so does a full window, and ``flush`` at close).
    The first publish to an exchange on each connection waits for its confirm, so a missing exchange (declared
    then, for a publish-only service) or a refused permission still raises at the call. Without
    ``publisher_confirms`` publishes are fire-and-forget on a plain channel (that first one excepted).
    """

    def __init__(self, broker: RealAmqpBroker, *, confirms: bool = True, limit: int = MAX_UNCONFIRMED) -> None:
        self.broker = broker
        self.clock = broker.clock
        self.confirms = confirms
        self.window = ConfirmWindow(broker, limit)
        self._plain: Any = None  # the channel for unconfirmed publishes
        self._verifying: dict[str, asyncio.Future[None]] = {}

    @property
    def unconfirmed(self) -> int:
        """Publishes written but not confirmed yet (inspection)."""
        return self.window.unconfirmed

    @property
    def limit(self) -> int:
        """Unconfirmed publishes at most; one more waits for room."""
        return self.window.limit

    @limit.setter
    def limit(self, value: int) -> None:
        self.window.limit = value

    @property
    def failed(self) -> deque[FailedPublication]:
        return self.window.failed

    async def publish(self, publication: AmqpPublication) -> str | None:
        properties = publication.properties
        record = Unconfirmed(
            publication.exchange_name,
            publication.routing_key,
            publication.body,
            encode_properties(properties),
            properties.message_id,
            self.clock.monotonic() + self.broker.publish_timeout,
        )
        while True:
            try:
                if self.confirms:
                    await self._publish_confirmed(record)
                else:
                    await self._publish_unconfirmed(record)
                return properties.message_id
            except LINK_ERRORS as exc:  # the connection died while a channel was being (re)opened
                if self.clock.monotonic() >= record.deadline:
                    raise AmqpConnectionException(f"publish [amqp] to {self.broker.where} failed: {exc!r}") from exc
                logger.warning("amqp publish interrupted, retrying", error=repr(exc))
                await self.clock.sleep(0.1)

    async def _publish_confirmed(self, record: Unconfirmed) -> None:
        window = self.window
        while True:
            channel = window.channel(record.exchange)
            if channel is None:
                if await self._verify(record):
                    return  # it was the exchange's first publish on this connection: confirmed already
                continue
            if window.full:
                await window.room()
                continue
            if not window.write(channel, record):
                # its connection is closing: publish on the next one (the way a new channel is picked up)
                if await self._verify(record):
                    return
                continue
            window.track(record, current_scope())
            await self._drain(channel, record.deadline)
            return

    async def _publish_unconfirmed(self, record: Unconfirmed) -> None:
        while True:
            channel = self._plain
            if channel is None or not channel.is_open or not self.window.is_verified(record.exchange):
                if await self._verify(record):
                    return
                link = await self._ready_link(record.deadline)
                channel = await link.channel("unconfirmed")
                if channel is not self._plain:
                    channel.close_listener = self._on_plain_closed
                    self._plain = channel
                continue
            frame = encode_publish(
                channel.channel_id,
                record.exchange,
                record.routing_key,
                record.header,
                record.body,
                self.window._frame_max,
            )
            if write_frame(channel, frame):
                await self._drain(channel, record.deadline)
                return
            self._plain = None  # its connection is closing: publish on the next one

    async def _ready_link(self, deadline: float) -> AmqpLink:
        return await self.broker._ready_link(max(0.0, deadline - self.clock.monotonic()))

    async def _verify(self, record: Unconfirmed) -> bool:
        """Get a confirm channel on the current connection; when ``record``'s exchange has not been reached on it
        yet, publish ``record`` and await its confirm (True) — a missing exchange raises here, at the call."""
        link = await self._ready_link(record.deadline)
        await self.window.adopt(link)
        exchange = record.exchange
        if self.window.is_verified(exchange):
            return False
        verifying = self._verifying.get(exchange)
        if verifying is not None:
            await asyncio.shield(verifying)  # once it is known to exist, this one is pipelined like the rest
            return False
        self._verifying[exchange] = asyncio.get_running_loop().create_future()
        try:
            await self._publish_strict(link, record, declare=True)
            self.window.verified(link, exchange)
            return True
        finally:
            self._verifying.pop(exchange).set_result(None)

    async def _publish_strict(self, link: AmqpLink, record: Unconfirmed, *, declare: bool) -> None:
        while True:
            try:
                await self.window.publish_strict(link, record)
                return
            except AmqpChannelClosed as exc:
                if exc.code == 404 and declare and declarable(record.exchange) and link.is_open:
                    # publish-only services: create the topic exchange like a subscriber would
                    declare = False
                    await self.broker._declare_exchange(link, record.exchange, "topic")
                    continue
                raise

    async def publish_copy(
        self, link: AmqpLink, exchange: str, routing_key: str, body: bytes, properties: AmqpProperties
    ) -> None:
        """Publish a copy the broker makes itself (retry, dead letter) on ``link`` and wait for its confirm: the
        original is settled only after that. Raises one of ``PUBLISH_ERRORS`` when not confirmed."""
        record = Unconfirmed(
            exchange,
            routing_key,
            body,
            encode_properties(properties),
            properties.message_id,
            self.clock.monotonic() + self.broker.publish_timeout,
        )
        await self._publish_strict(link, record, declare=False)

    async def _drain(self, channel: AmqpChannel, deadline: float) -> None:
        """Wait while RabbitMQ reads slower than we write (bounded: an unconfirmed message then fails later)."""
        protocol = channel.protocol
        transport = protocol._stream_writer.transport
        if transport is None or transport.get_write_buffer_size() <= WRITE_BUFFER_LIMIT:
            return
        try:
            await bounded(self.clock, protocol._drain(), max(0.1, deadline - self.clock.monotonic()), "publish")
        except LINK_OR_TIMEOUT:
            pass

    def _on_plain_closed(self, channel: AmqpChannel) -> None:
        if channel is self._plain:
            self._plain = None
            if channel.close_code is not None:
                self.window.forget_exchanges()  # a channel error: maybe an exchange was deleted

    async def flush(self, timeout: float) -> None:
        """Wait for every unconfirmed publish (see :meth:`ConfirmWindow.flush`)."""
        await self.window.flush(timeout)

    def reset(self) -> None:
        """Forget the channels (the broker closed its connection)."""
        self.window.reset()
        self._plain = None
