"""``Delivery.on_settled``: observers learn each delivery's outcome once, and a failing observer never keeps a
message from being settled."""

from __future__ import annotations

import logging

import pytest

from tomodachi.messaging.broker import Delivery


class _Delivery(Delivery):
    def __init__(self) -> None:
        super().__init__(body="{}")
        self.requests: list[str] = []

    async def _ack(self) -> None:
        self.requests.append("ack")

    async def _retry(self, delay: float) -> None:
        self.requests.append(f"retry {delay}")

    async def _dead_letter(self, reason: str) -> None:
        self.requests.append(f"dead_letter {reason}")


async def test_callbacks_hear_the_first_outcome_once() -> None:
    delivery = _Delivery()
    heard: list[str] = []
    delivery.on_settled(heard.append)
    delivery.on_settled(lambda outcome: heard.append(outcome.upper()))

    await delivery.retry(2.0)
    await delivery.ack()  # ignored: the first settle wins

    assert heard == ["retry", "RETRY"]
    assert delivery.requests == ["retry 2.0"]


async def test_a_callback_added_after_settling_is_called_at_once() -> None:
    delivery = _Delivery()
    await delivery.dead_letter("bad")
    heard: list[str] = []
    delivery.on_settled(heard.append)
    assert heard == ["dead_letter"]


async def test_a_failing_callback_is_logged_and_the_delivery_is_still_settled(
    caplog: pytest.LogCaptureFixture,
) -> None:
    delivery = _Delivery()
    heard: list[str] = []

    def broken(outcome: str) -> None:
        raise RuntimeError("observer bug")

    delivery.on_settled(broken)
    delivery.on_settled(heard.append)
    with caplog.at_level(logging.ERROR, logger="tomodachi.messaging"):
        await delivery.ack()

    assert delivery.requests == ["ack"] and heard == ["ack"]
    assert any("settle callback failed" in record.getMessage() for record in caplog.records)
