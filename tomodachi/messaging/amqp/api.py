"""``@amqp`` handler decorator and ``amqp_publish``. Imports no AMQP client library."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from typing import Any

from tomodachi.handlers import invoker
from tomodachi.messaging.amqp.descriptors import AmqpProperties, AmqpPublication
from tomodachi.messaging.amqp.exceptions import AmqpChannelClosed, AmqpConnectionException
from tomodachi.messaging.amqp.naming import decode_routing_key, prefixed_routing_key
from tomodachi.messaging.amqp.settings import get_broker, settings_of
from tomodachi.messaging.broker import environment_of
from tomodachi.messaging.envelope_choice import resolve_envelope
from tomodachi.messaging.outgoing import PUBLISH_ATTEMPTS, add_outgoing_headers
from tomodachi.messaging.unset import UNSET, Unset
from tomodachi.runtime.observe import report_published


@invoker("amqp")
def amqp(
    routing_key: str,
    callback_kwargs: Sequence[str] | None = None,
    exchange_name: str = "",
    competing: bool | None = None,
    queue_name: str | None = None,
    *,
    message_envelope: object = UNSET,
    message_protocol: object = UNSET,
    max_receive_count: int | None = None,
    **kwargs: Any,
) -> dict[str, object]:
    """Subscribe the decorated method to ``routing_key`` (``*``/``#`` wildcards) on a topic exchange.

    ``competing=None`` means non-competing (one queue per handler and service uuid) unless ``queue_name`` is
    given. ``max_receive_count``: deliveries before a failing message is dead-lettered (default: the service's
    error policy, 3). Extra ``**kwargs`` are envelope parser kwargs. The handler's ``routing_key`` argument is
    the key the message was *published* with (upstream passed the decorator's pattern).
    """
    if not isinstance(routing_key, str):
        raise TypeError(f"amqp(): routing_key must be a str, not {type(routing_key).__name__}")
    if callback_kwargs is not None and (
        isinstance(callback_kwargs, str) or not all(isinstance(n, str) for n in callback_kwargs)
    ):
        raise TypeError("amqp(): callback_kwargs must be a list of argument names")
    if queue_name is not None and (not isinstance(queue_name, str) or not queue_name):
        raise ValueError("amqp(): queue_name must be a non-empty str")
    if max_receive_count is not None and (
        isinstance(max_receive_count, bool) or not isinstance(max_receive_count, int) or max_receive_count < 1
    ):
        raise ValueError(f"amqp(): max_receive_count must be an int >= 1, got {max_receive_count!r}")
    envelope = message_envelope if message_envelope is not UNSET else message_protocol
    if envelope is not UNSET and envelope is not None:
        from tomodachi.envelope.base import validate_envelope

        validate_envelope(envelope, **kwargs)
    return {
        "routing_key": routing_key,
        "callback_kwargs": tuple(callback_kwargs) if callback_kwargs is not None else None,
        "exchange_name": exchange_name or "",
        "competing": bool(queue_name) if competing is None else bool(competing),
        "queue_name": queue_name,
        "message_envelope": envelope,
        "parser_kwargs": dict(kwargs),
        "max_receive_count": max_receive_count,
    }


async def amqp_publish(
    service: object,
    data: Any,
    routing_key: str = "",
    exchange_name: str = "",
    wait: bool = True,
    *,
    message_envelope: object = UNSET,
    message_protocol: object = UNSET,
    routing_key_prefix: str | None | Unset = UNSET,
    **kwargs: Any,
) -> asyncio.Task[None] | None:
    """Publish ``data`` (wrapped by the envelope, or raw ``str``/``bytes``) as a persistent message.

    ``wait=False`` returns the publishing Task. ``**kwargs`` go to the envelope's ``build_message``.
    """
    envelope = resolve_envelope(service, message_envelope, message_protocol)
    if envelope is None and not isinstance(data, (str, bytes)):
        raise TypeError(
            f"amqp_publish(): data must be str or bytes without a message envelope, not {type(data).__name__} "
            "(set message_envelope=JsonBase on the service or pass message_envelope=…)"
        )
    environment = environment_of(service)
    settings = settings_of(service)
    broker = get_broker(environment, settings)
    observers = environment.observers
    prefix = settings.routing_key_prefix if isinstance(routing_key_prefix, Unset) else (routing_key_prefix or "")
    exchange = exchange_name or settings.exchange_name

    async def send() -> None:
        payload: str | bytes = (
            await envelope.build_message(service, routing_key, data, **kwargs) if envelope is not None else data
        )
        content_type = content_type_of(envelope, payload)
        body = payload.encode("utf-8") if isinstance(payload, str) else bytes(payload)
        headers: dict[str, object] = {}
        add_outgoing_headers(headers, service, "amqp", routing_key)  # fills ``headers`` in place
        properties = outgoing_properties(content_type, environment.clock.time(), headers)
        publication = AmqpPublication(exchange, prefixed_routing_key(routing_key, prefix), body, properties)
        for attempt in range(1, PUBLISH_ATTEMPTS + 1):
            try:
                await broker.publish(publication)
                report_published(observers, service, "amqp", "amqp", publication.routing_key, decode_routing_key)
                return
            except (AmqpChannelClosed, AmqpConnectionException) as exc:
                if attempt == PUBLISH_ATTEMPTS or getattr(exc, "code", None) in (403, 404, 406):
                    raise
                from tomodachi.logging import framework_logger  # only when a publish is retried

                framework_logger("tomodachi.amqp").warning(
                    "amqp publish failed, retrying",
                    routing_key=routing_key,
                    attempt=attempt,
                    error=str(exc),
                )

    if wait:
        await send()
        return None
    return asyncio.get_running_loop().create_task(send())


def outgoing_properties(content_type: str, now: float, headers: dict[str, object]) -> AmqpProperties:
    """The properties of a message published at ``now`` (epoch seconds): persistent, a fresh message id."""
    return AmqpProperties(
        content_type=content_type,
        delivery_mode=2,  # persistent
        message_id=_message_id(),
        timestamp=int(now),
        headers=headers,
    )


def content_type_of(envelope: object, payload: str | bytes) -> str:
    """The content type of a body built by ``envelope`` (its own, when it names one) or of a raw body."""
    if envelope is not None:
        return getattr(envelope, "content_type", None) or _sniff_content_type(payload)
    return "text/plain; charset=utf-8" if isinstance(payload, str) else "application/octet-stream"


def _message_id() -> str:
    """A random (version 4) UUID as 32 hex digits, like ``uuid.uuid4().hex`` at a fraction of its cost."""
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    return raw.hex()


def _sniff_content_type(payload: str | bytes) -> str:
    head = payload[:1]
    if head in ("{", "[", b"{", b"["):
        return "application/json"
    return "text/plain; charset=utf-8" if isinstance(payload, str) else "application/octet-stream"
