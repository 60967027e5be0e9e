"""Argument injection, message middleware, raw mode and custom envelopes on the AMQP pipeline."""

from __future__ import annotations

import json
from typing import Any

from amqp_rig import PlainService, Rig

from tomodachi.envelope import JsonBase
from tomodachi.messaging.amqp.api import amqp
from tomodachi.messaging.amqp.descriptors import AmqpProperties


async def test_middleware_order_positional_and_keyword_arguments(rig: Rig) -> None:
    trace: list[Any] = []

    async def outer(func: Any, service: Any, message: Any, routing_key: str, context: dict[str, Any]) -> Any:
        trace.append(("outer-in", service.name, message["data"], routing_key, context))
        context["seen-by-outer"] = True
        result = await func()
        trace.append(("outer-out", result))
        return result

    async def inner(func: Any, *, message_uuid: str, exchange_name: str, properties: Any) -> Any:
        trace.append(("inner", bool(message_uuid), exchange_name, isinstance(properties, AmqpProperties)))
        return await func(data={"changed": True})

    class Svc(PlainService):
        name = "mw"
        message_envelope = JsonBase
        message_middleware = [outer, inner]

        @amqp("thing.#")
        async def handler(self, data: Any, routing_key: str) -> str:
            trace.append(("handler", data, routing_key))
            return "done"

    await rig.start(Svc())
    await rig.publish("thing.made", {"x": 1}, envelope=JsonBase)
    await rig.fake.settle()
    assert trace == [
        ("outer-in", "mw", {"x": 1}, "thing.made", {"seen-by-outer": True}),
        ("inner", True, "amq.topic", True),
        ("handler", {"changed": True}, "thing.made"),
        ("outer-out", "done"),
    ]


async def test_pre_middleware_runs_before_user_middleware(rig: Rig) -> None:
    order: list[str] = []

    async def pre(func: Any) -> Any:
        order.append("pre")
        return await func()

    async def user(func: Any) -> Any:
        order.append("user")
        return await func()

    class Svc(PlainService):
        message_envelope = JsonBase
        message_middleware = [user]
        _amqp_message_pre_middleware = [pre]

        @amqp("a")
        async def handler(self) -> None:
            order.append("handler")

    await rig.start(Svc())
    await rig.publish("a", 1, envelope=JsonBase)
    await rig.fake.settle()
    assert order == ["pre", "user", "handler"]


async def test_failing_middleware_counts_as_handler_failure(rig: Rig) -> None:
    async def refuse(func: Any) -> Any:
        raise PermissionError("no")

    class Svc(PlainService):
        name = "guarded"
        message_envelope = JsonBase
        message_middleware = [refuse]
        calls = 0

        @amqp("a")
        async def handler(self) -> None:
            type(self).calls += 1

    await rig.start(Svc())
    await rig.publish("a", 1, envelope=JsonBase)
    await rig.fake.settle()
    assert Svc.calls == 0
    assert [type(e) for e, _ in rig.errors] == [PermissionError]
    assert rig.broker.delayed_count == 1


async def test_envelope_keys_and_standard_kwargs_are_injected(rig: Rig) -> None:
    got: dict[str, Any] = {}

    class Svc(PlainService):
        name = "sender"
        uuid = "svc-uuid"
        message_envelope = JsonBase

        @amqp("k")
        async def handler(
            self,
            data: Any,
            metadata: Any,
            service: Any,
            message: Any,
            message_uuid: str,
            unknown: Any,
            with_default: int = 5,
        ) -> None:
            got.update(
                data=data,
                metadata=metadata,
                service=service,
                message=message,
                message_uuid=message_uuid,
                unknown=unknown,
                with_default=with_default,
            )

    sender = Svc()
    await rig.start(sender)
    await rig.publish("k", [1, 2], envelope=JsonBase, service=sender)
    await rig.fake.settle()
    assert got["data"] == [1, 2]
    assert got["service"] == {"name": "sender", "uuid": "svc-uuid"}
    assert got["metadata"]["topic"] == "k"
    assert got["message"]["data"] == [1, 2]
    assert got["message_uuid"].startswith("svc-uuid.")
    assert got["unknown"] is None
    assert got["with_default"] == 5


async def test_handler_with_var_kwargs_gets_everything(rig: Rig) -> None:
    got: dict[str, Any] = {}

    class Svc(PlainService):
        message_envelope = JsonBase

        @amqp("k")
        async def handler(self, **kwargs: Any) -> None:
            got.update(kwargs)

    await rig.start(Svc())
    await rig.publish("k", 1, envelope=JsonBase)
    await rig.fake.settle()
    assert {
        "data",
        "metadata",
        "service",
        "message",
        "message_uuid",
        "routing_key",
        "exchange_name",
        "properties",
    } <= set(got)


async def test_raw_mode_first_parameter_gets_the_body(rig: Rig) -> None:
    got: list[Any] = []

    class Svc(PlainService):
        message_envelope = JsonBase

        @amqp("raw.key", message_envelope=None)
        async def handler(self, body: str, routing_key: str, message_uuid: Any) -> None:
            got.append((body, routing_key, message_uuid))

    await rig.start(Svc())
    await rig.publish("raw.key", "plain text")
    await rig.publish("raw.key", b"\xff\xfe binary")
    await rig.fake.settle()
    assert got == [("plain text", "raw.key", None), (b"\xff\xfe binary", "raw.key", None)]


async def test_legacy_callback_kwargs(rig: Rig) -> None:
    got: list[Any] = []

    class Svc(PlainService):
        message_envelope = JsonBase

        @amqp("k", callback_kwargs=["data"])
        async def handler(self, data: Any, routing_key: Any) -> None:
            got.append((data, routing_key))

    await rig.start(Svc())
    await rig.publish("k", 3, envelope=JsonBase)
    await rig.fake.settle()
    assert got == [(3, None)]


class Reversed:
    """A custom envelope: JSON list ``[uuid, data]`` and a parser kwarg."""

    validated: list[dict[str, Any]] = []

    @classmethod
    def validate(cls, **kwargs: Any) -> None:
        cls.validated.append(kwargs)

    @classmethod
    async def build_message(cls, service: Any, topic: str, data: Any, **kwargs: Any) -> str:
        return json.dumps(["uuid-1", data])

    @classmethod
    async def parse_message(cls, payload: str, *, scale: int = 1, **kwargs: Any) -> tuple[Any, Any, Any]:
        message_uuid, data = json.loads(payload)
        return {"value": data * scale}, message_uuid, None


async def test_custom_envelope_with_parser_kwargs(rig: Rig) -> None:
    got: list[Any] = []

    class Svc(PlainService):
        @amqp("k", message_envelope=Reversed, scale=10)
        async def handler(self, value: int, message_uuid: str) -> None:
            got.append((value, message_uuid))

    assert Reversed.validated == [{"scale": 10}]
    await rig.start(Svc())
    await rig.publish("k", 4, envelope=Reversed)
    await rig.fake.settle()
    assert got == [(40, "uuid-1")]


async def test_incompatible_message_false_is_dead_lettered(rig: Rig) -> None:
    class Refuses:
        @classmethod
        async def parse_message(cls, payload: str, **kwargs: Any) -> tuple[Any, Any, Any]:
            return False, "some-uuid", None

    class Svc(PlainService):
        message_envelope = Refuses

        @amqp("k")
        async def handler(self) -> None:
            raise AssertionError("not called")

    await rig.start(Svc())
    await rig.publish("k", "whatever")
    await rig.fake.settle()
    assert "incompatible" in rig.broker.dead_letters[0].reason
