"""What observers are handed: call and publish events read by name, compare by value, print their fields and
cannot be changed."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from tomodachi.runtime.observe import HandlerCallEvent, MessagePublishedEvent

WHEN = datetime(2024, 1, 2, tzinfo=timezone.utc)


def handler(order: str, *, count: int = 1, **extra: object) -> None: ...


def call_event(result: object = "ok") -> HandlerCallEvent:
    return HandlerCallEvent("svc", "on_order", "amqp", handler, ("o-1",), {"count": 2, "x": 3}, result, None, WHEN)


def test_a_call_event_reads_by_name_and_maps_its_arguments_to_parameters() -> None:
    event = call_event()
    assert (event.service, event.handler, event.transport, event.func) == ("svc", "on_order", "amqp", handler)
    assert (event.args, event.kwargs, event.result, event.exception, event.time) == (
        ("o-1",),
        {"count": 2, "x": 3},
        "ok",
        None,
        WHEN,
    )
    assert event.arguments() == {"order": "o-1", "count": 2, "x": 3}


def test_events_compare_by_value_and_print_their_fields() -> None:
    assert call_event() == call_event() and call_event() != call_event(result="other")
    assert repr(call_event()).startswith("HandlerCallEvent(service='svc', handler='on_order', transport='amqp', ")
    published = MessagePublishedEvent("amqp", "amqp", "svc", "orders.created")
    assert published == MessagePublishedEvent(bus="amqp", kind="amqp", service="svc", destination="orders.created")
    assert repr(published) == (
        "MessagePublishedEvent(bus='amqp', kind='amqp', service='svc', destination='orders.created')"
    )


def test_events_cannot_be_changed() -> None:
    with pytest.raises(AttributeError):
        call_event().result = "changed"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        MessagePublishedEvent("amqp", "amqp", "svc", "k").destination = "other"  # type: ignore[misc]
