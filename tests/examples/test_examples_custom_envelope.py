"""examples/custom_envelope.py: signed messages round-trip; forged and malformed ones are dead-lettered unseen."""

from __future__ import annotations

import json
from typing import Any


async def test_signed_messages_round_trip(tomodachi_service: Any, fake_amqp: Any, load_example: Any) -> None:
    svc = await tomodachi_service(load_example("custom_envelope.py").Invoicing)
    await svc.instance.issue("inv-1", 120)
    await fake_amqp.settle()
    assert svc.instance.booked == ["inv-1=120 from example-invoicing"]
    wire = fake_amqp.published()[0].json()
    assert set(wire) == {"id", "sender", "topic", "sent_at", "data", "signature"}
    assert wire["topic"] == "invoice.issued"


async def test_forged_and_malformed_messages_are_dead_lettered(
    tomodachi_service: Any, fake_amqp: Any, load_example: Any
) -> None:
    example = load_example("custom_envelope.py")
    svc = await tomodachi_service(example.Invoicing)
    genuine = await example.SignedEnvelope.build_message(
        svc.instance, "invoice.issued", {"invoice_id": "i", "amount": 1}
    )
    forged = json.loads(genuine)
    forged["data"]["amount"] = 1_000_000
    await fake_amqp.publish("invoice.issued", json.dumps(forged), envelope=None)
    await fake_amqp.publish("invoice.issued", "not json", envelope=None)
    await fake_amqp.publish("invoice.issued", genuine, envelope=None)
    await fake_amqp.settle()

    assert svc.instance.booked == ["i=1 from example-invoicing"]
    reasons = [dead.reason for dead in fake_amqp.take_dead_letters()]
    assert reasons[0] == "incompatible message envelope"
    assert reasons[1].startswith("unable to parse message: JSONDecodeError")
    assert svc.errors == []  # parse failures are not handler errors
