"""What a running service tells its Environment's observers: each handler call, publish and message given up on.

Production runs with no observers (the calls below then cost one truthiness check); the test harness observes
to keep handler call records and to fail a test that lost a message.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import CoroutineType
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

if TYPE_CHECKING:
    from tomodachi.messaging.broker import Delivery
    from tomodachi.runtime.clock import Clock


class HandlerCallEvent(NamedTuple):
    """One finished invocation of a handler (HTTP, websocket, messaging or scheduled).

    The call's ``args`` / ``kwargs`` are kept as given; :meth:`arguments` maps them to parameter names on demand
    (binding a signature per call would cost more than many handlers do). A named tuple, not a frozen dataclass:
    one is made per handler call while a test observes, and a tuple is built in a fraction of the time."""

    service: str
    handler: str
    transport: str
    func: Callable[..., Any]
    args: Sequence[Any]
    kwargs: Mapping[str, Any]
    result: Any
    exception: BaseException | None
    time: datetime

    def arguments(self) -> dict[str, Any]:
        return arguments_by_name(self.func, self.args, self.kwargs)


@dataclass(frozen=True)
class MessageLostEvent:
    """A delivered message the pipeline gave up on: dead-lettered (``kept``) or acknowledged unhandled (dropped)."""

    bus: str
    service: str
    handler: str
    delivery: Delivery
    reason: str
    kept: bool
    time: datetime


class MessagePublishedEvent(NamedTuple):
    """A service's publish the broker accepted. ``kind``: ``amqp``, ``sns`` or ``sqs``; ``destination`` is the
    routing key, topic or queue as on the wire (prefixes applied), encoding undone. One per publish while a test
    observes, so a named tuple like :class:`HandlerCallEvent`."""

    bus: str
    kind: str
    service: str
    destination: str


_new_tuple = tuple.__new__


class Observer(Protocol):
    def handler_called(self, event: HandlerCallEvent) -> None: ...

    def message_lost(self, event: MessageLostEvent) -> None: ...

    def message_published(self, event: MessagePublishedEvent) -> None: ...


async def call_handler(
    func: Callable[..., object],
    args: Sequence[object],
    kwargs: Mapping[str, object],
    observers: Sequence[Observer],
    clock: Clock,
    service: str,
    handler: str,
    transport: str,
    fault: BaseException | None = None,
) -> object:
    """Call ``func(*args, **kwargs)`` (awaiting its result) and tell the observers how it went. A ``fault`` (a
    test's injected failure) is raised in place of the call, and recorded like the handler had raised it."""
    if not observers and fault is None:
        result = func(*args, **kwargs)
        return await result if type(result) is CoroutineType or inspect.isawaitable(result) else result
    started = clock.now()
    try:
        if fault is not None:
            raise fault
        result = func(*args, **kwargs)
        if type(result) is CoroutineType or inspect.isawaitable(result):  # an async def's result: asked first
            result = await result
    except BaseException as exc:
        event = HandlerCallEvent(service, handler, transport, func, args, kwargs, None, exc, started)
        _notify_call(observers, event)
        raise
    # tuple.__new__ straight away: a named tuple's own __new__ is a Python function, and this runs per call
    event = _new_tuple(HandlerCallEvent, (service, handler, transport, func, args, kwargs, result, None, started))
    for observer in observers:
        observer.handler_called(event)
    return result


def report_published(
    observers: Sequence[Observer],
    service: object,
    bus: str,
    kind: str,
    destination: str,
    decode: Callable[[str], str] | None = None,
) -> None:
    """Tell ``observers`` (those of ``service``'s Environment) about a publish; ``decode`` turns the wire name into
    the readable one, and is only paid for when somebody observes."""
    if observers:
        name = str(getattr(service, "name", None) or type(service).__name__)
        event = _new_tuple(MessagePublishedEvent, (bus, kind, name, decode(destination) if decode else destination))
        for observer in observers:
            observer.message_published(event)


def report_lost(observers: Sequence[Observer], event: MessageLostEvent) -> None:
    for observer in observers:
        observer.message_lost(event)


def _notify_call(observers: Sequence[Observer], event: HandlerCallEvent) -> None:
    for observer in observers:
        observer.handler_called(event)


def arguments_by_name(
    func: Callable[..., object], args: Sequence[object], kwargs: Mapping[str, object]
) -> dict[str, Any]:
    """The call's arguments keyed by parameter name (positional ones included); ``**kwargs`` extras flattened."""
    try:
        bound = inspect.signature(func).bind_partial(*args, **kwargs)
    except (TypeError, ValueError):
        return {**{f"arg{index}": value for index, value in enumerate(args)}, **kwargs}
    named: dict[str, Any] = {}
    for name, value in bound.arguments.items():
        parameter = bound.signature.parameters[name]
        if parameter.kind is parameter.VAR_KEYWORD:
            named.update(value)
        else:
            named[name] = value
    return named
