"""Message-pipeline corner cases that used to lose, strand or mis-settle messages."""

from __future__ import annotations

from typing import Any

from amqp_rig import PlainService, Rig

from tomodachi.envelope import JsonBase
from tomodachi.messaging.amqp.api import amqp


class Enveloped(PlainService):
    name = "enveloped"
    message_envelope = JsonBase

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[Any] = []

    @amqp("review.bytes")
    async def handler(self, data: Any) -> None:
        self.calls.append(data)


async def test_non_utf8_body_with_an_envelope_is_dead_lettered_not_stranded(rig: Rig) -> None:
    service = Enveloped()
    await rig.start(service)
    await rig.publish("review.bytes", b"\xff\xfe not utf-8")
    await rig.fake.settle()  # used to time out: the delivery was never settled (prefetch slot leaked)
    [dead] = rig.broker.dead_letters
    assert dead.body == b"\xff\xfe not utf-8"
    assert "unable to parse message" in dead.reason
    assert rig.broker.unacked_count() == 0
    # the consumer keeps going
    await rig.publish("review.bytes", {"ok": 1}, envelope=JsonBase)
    await rig.fake.settle()
    assert service.calls == [{"ok": 1}]


async def _passthrough(func: Any, *args: Any, **kwargs: Any) -> Any:
    return await func()


class MisconfiguredMiddleware(Enveloped):
    name = "misconfigured"
    message_middleware = _passthrough  # type: ignore[assignment]  # a function, not a list of them

    @amqp("review.misconfigured")
    async def other(self, data: Any) -> None:
        self.calls.append(data)


async def test_unexpected_pipeline_error_settles_the_delivery(rig: Rig) -> None:
    service = MisconfiguredMiddleware()
    await rig.start(service)
    await rig.publish("review.misconfigured", {"n": 1}, envelope=JsonBase)
    await rig.fake.settle()  # used to time out: the pipeline raised before settling
    assert rig.broker.unacked_count() == 0
    [dead] = rig.broker.dead_letters
    assert "TypeError" in dead.reason
    assert [where for _, where in rig.errors] == ["misconfigured.other"]


class Keys(PlainService):
    name = "keys"

    def __init__(self) -> None:
        super().__init__()
        self.keys: list[str] = []

    @amqp("review.#")
    async def handler(self, body: str, routing_key: str) -> None:
        self.keys.append(routing_key)


async def test_routing_key_with_literal_hex_like_sequence_is_delivered(rig: Rig) -> None:
    service = Keys()
    await rig.start(service)
    # '_' is passed through unencoded, so '___ff_' can be part of a real key; it is not valid UTF-8 hex
    await rig.publish("review.a___ff_", "x")
    await rig.publish("review.b___e282ac_", "y")  # decodes to '€': ambiguous, decoded like upstream
    await rig.fake.settle()
    assert service.keys == ["review.a___ff_", "review.b€"]
    assert rig.broker.dead_letters == []
