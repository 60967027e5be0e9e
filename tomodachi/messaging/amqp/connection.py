"""One aioamqp connection to RabbitMQ and its channels (control / publish with confirms / consume), nothing more:
no reconnect logic here — :mod:`tomodachi.messaging.amqp.real` decides what to do when a link dies."""

from __future__ import annotations

import asyncio
import ssl as ssl_module
from collections.abc import Awaitable
from typing import Any, TypeVar

import aioamqp
import aioamqp.channel
import aioamqp.exceptions
import aioamqp.protocol

from tomodachi.messaging.amqp.exceptions import AmqpChannelClosed, AmqpConnectionException
from tomodachi.messaging.amqp.settings import AmqpSettings
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


class _ConfirmingChannel(aioamqp.channel.Channel):  # type: ignore[misc]
    """aioamqp's channel resolves only the exact tag of a publisher confirm; RabbitMQ also acks/nacks with
    ``multiple=True`` (every tag up to this one) — without this, those publishes would wait forever."""

    def _settle_confirms(self, frame: Any, failed: bool) -> None:
        tag = int(frame.delivery_tag)
        prefix = "basic_server_ack_"
        names = [f"{prefix}{tag}"]
        if getattr(frame, "multiple", False):
            names = [n for n in self._futures if n.startswith(prefix) and (tag == 0 or int(n[len(prefix) :]) <= tag)]
        for name in names:
            future = self._futures.pop(name, None)
            if future is None or future.done():
                continue
            if failed:
                future.set_exception(aioamqp.exceptions.PublishFailed(int(name[len(prefix) :])))
            else:
                future.set_result(True)

    async def basic_server_ack(self, frame: Any) -> None:
        self._settle_confirms(frame, failed=False)

    async def basic_server_nack(self, frame: Any, delivery_tag: Any = None) -> None:
        self._settle_confirms(frame, failed=True)


class _Protocol(aioamqp.protocol.AmqpProtocol):  # type: ignore[misc]
    CHANNEL_FACTORY = _ConfirmingChannel


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

    def __init__(self, transport: Any, protocol: Any, settings: AmqpSettings, clock: Clock) -> None:
        self.transport = transport
        self.protocol = protocol
        self.settings = settings
        self.clock = clock
        self._channels: dict[str, Any] = {}
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

    def current_channel(self, kind: str) -> Any:
        """The channel of this kind if it is open, else None (never opens one)."""
        channel = self._channels.get(kind)
        return channel if channel is not None and channel.is_open else None

    async def channel(self, kind: str) -> Any:
        """The open channel of this kind, opened (again) when missing or closed by a channel error.

        ``publish`` channels are in confirm mode: ``channel.publish`` returns once RabbitMQ has the message.
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
