"""One aioamqp connection to RabbitMQ and its channels (control / publish with confirms / consume), nothing more:
no reconnect logic here — :mod:`tomodachi.messaging.amqp.real` decides what to do when a link dies."""

from __future__ import annotations

import asyncio
import ssl as ssl_module
import struct
from collections.abc import Awaitable, Callable, Iterable
from typing import TypeVar

import aioamqp
import aioamqp.channel
import aioamqp.envelope
import aioamqp.exceptions
import aioamqp.properties
import aioamqp.protocol
import pamqp.commands
import pamqp.frame
import pamqp.heartbeat

from tomodachi.messaging.amqp.exceptions import AmqpChannelClosed, AmqpConnectionException
from tomodachi.messaging.amqp.settings import AmqpSettings
from tomodachi.messaging.amqp.wire import DELIVER, decode_content_header, decode_deliver
from tomodachi.runtime.clock import Clock

T = TypeVar("T")

# errors that mean "this link (or channel) is gone": never a bug in the caller
LINK_ERRORS: tuple[type[BaseException], ...] = (
    aioamqp.exceptions.AioamqpException,
    ConnectionError,
    OSError,
    EOFError,
    asyncio.IncompleteReadError,
)
LINK_OR_TIMEOUT: tuple[type[BaseException], ...] = (TimeoutError, *LINK_ERRORS)


class AmqpChannel(aioamqp.channel.Channel):  # type: ignore[misc]
    """aioamqp's channel, with publisher confirms and closes reported to whoever listens.

    RabbitMQ acks/nacks publishes with ``multiple=True`` (every tag up to this one) as soon as several are in
    flight, while aioamqp only resolves the exact tag: concurrent ``channel.publish`` calls on a confirm-mode
    channel would wait forever. ``confirm_listener(tag, multiple, nack)`` receives every confirm instead (the
    confirm window of :mod:`tomodachi.messaging.amqp.confirms`); without one, the futures aioamqp made are
    resolved, ``multiple`` included. ``close_listener(channel)`` is called once the channel is gone, with
    ``close_code`` / ``close_reason`` set when RabbitMQ closed it.
    """

    confirm_listener: Callable[[int, bool, bool], None] | None = None
    close_listener: Callable[[AmqpChannel], None] | None = None
    close_code: int | None = None
    close_reason: str | None = None

    def _settle_confirms(self, frame: pamqp.commands.Basic.Ack | pamqp.commands.Basic.Nack, failed: bool) -> None:
        tag = int(frame.delivery_tag)
        multiple = bool(getattr(frame, "multiple", False))
        listener = self.confirm_listener
        if listener is not None:
            listener(tag, multiple, failed)
            return
        prefix = "basic_server_ack_"
        names = [f"{prefix}{tag}"]
        if multiple:
            names = [n for n in self._futures if n.startswith(prefix) and (tag == 0 or int(n[len(prefix) :]) <= tag)]
        for name in names:
            future = self._futures.pop(name, None)
            if future is None or future.done():
                continue
            if failed:
                future.set_exception(aioamqp.exceptions.PublishFailed(int(name[len(prefix) :])))
            else:
                future.set_result(True)

    async def basic_server_ack(self, frame: pamqp.commands.Basic.Ack) -> None:
        self._settle_confirms(frame, failed=False)

    async def basic_server_nack(self, frame: pamqp.commands.Basic.Nack, delivery_tag: object = None) -> None:
        self._settle_confirms(frame, failed=True)

    async def basic_deliver(self, frame: pamqp.commands.Basic.Deliver) -> None:
        """aioamqp's, with the content header and body read and decoded by :mod:`~tomodachi.messaging.amqp.wire`."""
        read = self.protocol.read_frame
        body_size, values = decode_content_header((await read())[2])
        body = b""
        if body_size:
            body = (await read())[2]
            if len(body) < body_size:
                parts = [body]
                received = len(body)
                while received < body_size:
                    part = (await read())[2]
                    parts.append(part)
                    received += len(part)
                body = b"".join(parts)
        consumer_tag = frame.consumer_tag
        envelope = aioamqp.envelope.Envelope(
            consumer_tag, frame.delivery_tag, frame.exchange, frame.routing_key, frame.redelivered
        )
        callback = self.consumer_callbacks[consumer_tag]
        event = self._ctag_events.get(consumer_tag)
        if event:  # a delivery racing basic.consume-ok: aioamqp waits for the consumer to be registered
            await event.wait()
            del self._ctag_events[consumer_tag]
        await callback(self, body, envelope, aioamqp.properties.Properties(**values))

    async def dispatch_frame(self, frame: object) -> None:
        # the frames of the message hot paths go straight to their handler (aioamqp builds a dispatch table
        # of every method per frame); everything else the usual way
        if isinstance(frame, pamqp.commands.Basic.Deliver):
            await self.basic_deliver(frame)
        elif isinstance(frame, pamqp.commands.Basic.Ack):
            self._settle_confirms(frame, failed=False)
        else:
            await super().dispatch_frame(frame)

    def connection_closed(
        self, server_code: int | None = None, server_reason: str | None = None, exception: BaseException | None = None
    ) -> None:
        first = self.is_open
        if server_code is not None:
            self.close_code = int(server_code)
            self.close_reason = str(server_reason or "")
        super().connection_closed(server_code, server_reason, exception)
        listener = self.close_listener
        if first and listener is not None:
            listener(self)


_FRAME_HEAD = struct.Struct(">BHI")
_FRAME_END = 0xCE


class _BatchingWriter(aioamqp.protocol._StreamWriter):  # type: ignore[misc]
    """The connection's writer, sending what is written during one event-loop iteration in one system call (or
    whenever 64 KiB are waiting): acks of a prefetch window and concurrent publishes would otherwise cost one
    ``send`` each. Every frame goes through it, so their order is kept; ``drain``/``close`` flush first."""

    FLUSH_BYTES = 64 * 1024

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self._parts: list[bytes] = []
        self._size = 0
        self._scheduled = False

    def write(self, data: bytes) -> None:
        self._parts.append(data)
        self._size += len(data)
        if self._size >= self.FLUSH_BYTES:
            self.flush()
        elif not self._scheduled:
            self._scheduled = True
            self._loop.call_soon(self._flush_soon)

    def _flush_soon(self) -> None:
        self._scheduled = False
        self.flush()

    def flush(self) -> None:
        if not self._parts:
            return
        data = self._parts[0] if len(self._parts) == 1 else b"".join(self._parts)
        self._parts = []
        self._size = 0
        if not self.transport.is_closing():
            super().write(data)

    def writelines(self, data: Iterable[bytes]) -> None:
        self.flush()
        super().writelines(data)

    def write_eof(self) -> None:
        self.flush()
        super().write_eof()

    async def drain(self) -> None:
        self.flush()
        await super().drain()

    def close(self) -> None:
        self.flush()
        super().close()


class _Protocol(aioamqp.protocol.AmqpProtocol):  # type: ignore[misc]
    CHANNEL_FACTORY = AmqpChannel

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # aioamqp's version, with our writer: making its writer and replacing it would close the transport
        # (a garbage-collected StreamWriter closes its transport)
        asyncio.StreamReaderProtocol.connection_made(self, transport)
        self._stream_writer = _BatchingWriter(transport, self, self._stream_reader, loop=asyncio.get_running_loop())

    async def read_frame(self) -> tuple[int, int, bytes]:
        """The next frame's type, channel and payload, in two reads (aioamqp makes three)."""
        reader = self._stream_reader
        if not reader:
            raise aioamqp.exceptions.AmqpClosedConnection()
        try:
            frame_type, channel, size = _FRAME_HEAD.unpack(await reader.readexactly(7))
            data = await reader.readexactly(size + 1)
        except (asyncio.IncompleteReadError, OSError) as exc:
            raise aioamqp.exceptions.AmqpClosedConnection() from exc
        if data[-1] != _FRAME_END:
            self._stream_writer.transport.abort()  # out of step with the stream: nothing after it can be read
            raise aioamqp.exceptions.AmqpClosedConnection()
        return frame_type, channel, data[:-1]

    async def get_frame(self) -> tuple[int, object]:
        """aioamqp's frame reader (a channel and a pamqp frame), with Basic.Deliver decoded directly."""
        frame_type, channel, payload = await self.read_frame()
        if frame_type == 1:
            if payload.startswith(DELIVER):
                return channel, pamqp.commands.Basic.Deliver(*decode_deliver(payload))
            return channel, pamqp.frame._unmarshal_method_frame(payload)
        if frame_type == 2:
            return channel, pamqp.frame._unmarshal_header_frame(payload)
        if frame_type == 3:
            return channel, pamqp.frame._unmarshal_body_frame(payload)
        if frame_type == 8:
            return channel, pamqp.heartbeat.Heartbeat()
        return channel, None

    async def dispatch_frame(self, frame_channel: int | None = None, frame: object = None) -> None:
        if frame_channel is None and frame is None:
            frame_channel, frame = await self.get_frame()
        if frame_channel:  # a channel's frame: aioamqp's own routing, minus a per-frame dispatch table
            channel = self.channels.get(frame_channel)
            if channel is not None:
                await channel.dispatch_frame(frame)
                return
        await super().dispatch_frame(frame_channel, frame)


def write_frame(channel: AmqpChannel, frame: bytes) -> bool:
    """Write an encoded frame on ``channel`` if it is open (False: not written, the channel or connection is
    gone). No drain: callers write small frames bounded by prefetch, or drain themselves."""
    protocol = channel.protocol
    if not channel.is_open or protocol.state != aioamqp.protocol.OPEN:
        return False
    protocol._stream_writer.write(frame)
    return True


async def bounded(clock: Clock, awaitable: Awaitable[T], seconds: float, what: str) -> T:
    """Await ``awaitable`` for at most ``seconds`` of ``clock`` time (TimeoutError naming ``what``)."""
    task = asyncio.ensure_future(awaitable)
    timer = asyncio.ensure_future(clock.sleep(seconds))
    try:
        await asyncio.wait({task, timer}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        timer.cancel()
    if not task.done():
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        raise TimeoutError(f"{what} did not complete within {seconds:g}s")
    return task.result()


def channel_error(exc: BaseException, what: str) -> AmqpChannelClosed:
    """An aioamqp ChannelClosed (or similar) as our AmqpChannelClosed, keeping the AMQP reply code."""
    code = getattr(exc, "code", None)
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return AmqpChannelClosed(f"{what}: {message}", code=code if isinstance(code, int) and code else None)


class AmqpLink:
    """A live connection; ``closed`` is set once it is gone (server close, network error, heartbeat, close())."""

    def __init__(
        self, transport: asyncio.BaseTransport, protocol: _Protocol, settings: AmqpSettings, clock: Clock
    ) -> None:
        self.transport = transport
        self.protocol = protocol
        self.settings = settings
        self.clock = clock
        self._channels: dict[str, AmqpChannel] = {}
        self._opening: dict[str, asyncio.Lock] = {}

    @classmethod
    async def open(cls, settings: AmqpSettings, clock: Clock, timeout: float) -> AmqpLink:
        """Connect and log in, or raise AmqpConnectionException ("Unable to connect [amqp] to host:port (…)")."""
        context = ssl_module.create_default_context() if settings.ssl else None
        where = f"{settings.host}:{settings.port}"
        try:
            transport, protocol = await bounded(
                clock,
                aioamqp.connect(
                    host=settings.host,
                    port=settings.port,
                    login=settings.login,
                    password=settings.password,
                    virtualhost=settings.virtualhost,
                    ssl=context,
                    heartbeat=settings.heartbeat,
                    protocol_factory=_Protocol,
                    client_properties={"connection_name": "tomodachi"},
                ),
                timeout,
                "connect",
            )
        except LINK_OR_TIMEOUT as exc:
            detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            if isinstance(exc, (asyncio.IncompleteReadError, EOFError, aioamqp.exceptions.AmqpClosedConnection)):
                detail += " — connection closed during handshake: wrong login/password or virtualhost?"
            raise AmqpConnectionException(f"Unable to connect [amqp] to {where} ({detail})") from exc
        return cls(transport, protocol, settings, clock)

    @property
    def is_open(self) -> bool:
        return not self.protocol.connection_closed.is_set() and self.protocol.state == aioamqp.protocol.OPEN

    async def wait_closed(self) -> None:
        await self.protocol.connection_closed.wait()

    def current_channel(self, kind: str) -> AmqpChannel | None:
        """The channel of this kind if it is open, else None (never opens one)."""
        channel = self._channels.get(kind)
        return channel if channel is not None and channel.is_open else None

    async def channel(self, kind: str) -> AmqpChannel:
        """The open channel of this kind, opened (again) when missing or closed by a channel error.

        ``publish`` channels are in confirm mode (see :mod:`tomodachi.messaging.amqp.confirms`); ``unconfirmed``
        channels publish fire-and-forget.
        """
        lock = self._opening.setdefault(kind, asyncio.Lock())
        async with lock:
            channel = self.current_channel(kind)
            if channel is None:
                channel = await self.protocol.channel()
                if kind == "publish":
                    await channel.confirm_select()
                self._channels[kind] = channel
            return channel

    def abort(self) -> None:
        """Drop the TCP connection at once (RabbitMQ requeues every unacked message of it)."""
        self.transport.close()

    async def close(self, timeout: float = 5.0) -> None:
        """Close channels and connection politely; falls back to dropping the socket."""
        if self.protocol.connection_closed.is_set():
            return
        try:
            await bounded(self.clock, self.protocol.close(), timeout, "connection close")
        except LINK_OR_TIMEOUT:
            pass
        finally:
            if not self.protocol.connection_closed.is_set():
                self.abort()
