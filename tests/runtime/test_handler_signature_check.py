"""Handler parameters that nothing can ever fill are reported when the service starts, not on every call."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

import tomodachi
from tomodachi.envelope import JsonBase
from tomodachi.handler_check import HandlerSignatureError, HandlerSignatureWarning, http_findings
from tomodachi.handlers import HandlerSpec
from tomodachi.messaging.amqp.subscribers import INJECTED_VALUES as AMQP_VALUES
from tomodachi.messaging.amqp.subscribers import amqp_adapter
from tomodachi.messaging.broker import Delivery
from tomodachi.messaging.sns_sqs.subscribers import INJECTED_VALUES as SNS_SQS_VALUES
from tomodachi.messaging.sns_sqs.subscribers import make_unwrap
from tomodachi.runtime.container import ServiceStartError
from tomodachi.runtime.environment import Environment
from tomodachi.runtime.transport import BoundHandler, TransportContext
from tomodachi.transport.http.injection import InjectionError, call_arguments


async def start_error(tomodachi_service: Any, service: type) -> HandlerSignatureError:
    """The HandlerSignatureError that stopped ``service`` from starting."""
    with pytest.raises(ServiceStartError) as info:
        await tomodachi_service(service)
    assert isinstance(info.value.cause, HandlerSignatureError)
    return info.value.cause


def signature_warnings(handle: Any) -> list[str]:
    taken = handle.take_errors()
    assert all(isinstance(e, HandlerSignatureWarning) for e in taken), taken
    return [str(e) for e in taken]


# -- HTTP: upstream fails every request on such a parameter, so the start fails ------------------------------------


class OrderService(tomodachi.Service):
    name = "orders"

    @tomodachi.http("GET", r"/items/(?P<id>[^/]+)")
    async def get_item(self, request: Any, item_id: str) -> str:
        return item_id


async def test_http_misnamed_group_fails_the_start_with_a_suggestion(tomodachi_service: Any) -> None:
    error = await start_error(tomodachi_service, OrderService)
    message = str(error)
    assert message.startswith("OrderService.get_item (service 'orders'): parameter 'item_id'")
    assert "@tomodachi.http('GET', '/items/(?P<id>[^/]+)')" in message
    assert "route groups: id" in message
    assert message.endswith("Did you mean 'id'?")
    assert isinstance(error, TypeError)


class Defaults(tomodachi.Service):
    name = "defaults"

    @tomodachi.http("GET", r"/items/(?P<id>[^/]+)")
    async def get_item(self, request: Any, id: str, item_id: str = "none", *, page: int = 1) -> str:
        return f"{id}:{item_id}:{page}"

    @tomodachi.http("GET", r"/plain")
    async def plain(self, req: Any) -> str:  # the request fills the first parameter whatever its name
        return req.path

    @tomodachi.http_error(404)
    async def missing(self, request: Any, status_code: int) -> tuple[int, str]:
        return status_code, "missing"

    @tomodachi.websocket(r"/ws/(?P<room>\w+)")
    async def chat(self, websocket: Any, request: Any, room: str) -> None:
        return None


async def test_http_parameters_with_defaults_and_injected_names_are_not_reported(tomodachi_service: Any) -> None:
    svc = await tomodachi_service(Defaults)
    async with svc.http.get("/items/7") as response:
        assert await response.text() == "7:none:1"
    async with svc.http.get("/plain") as response:
        assert await response.text() == "/plain"
    assert svc.take_errors() == []


class KeywordOnly(tomodachi.Service):
    name = "kw"

    @tomodachi.websocket(r"/ws")
    async def chat(self, websocket: Any, request: Any, *, room: str) -> None:
        return None

    @tomodachi.http_error(500)
    async def failed(self, request: Any, status: int) -> str:
        return "failed"


async def test_http_every_unfillable_parameter_is_listed(tomodachi_service: Any) -> None:
    message = str(await start_error(tomodachi_service, KeywordOnly))
    lines = message.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("KeywordOnly.chat (service 'kw'): parameter 'room' of @tomodachi.websocket('/ws')")
    assert "Rename it to an injected name or give it a default value." in lines[0]
    assert "parameter 'status' of @tomodachi.http_error(500)" in lines[1]
    assert lines[1].endswith("Did you mean 'status_code'?")


async def forward_user(func: Any, service: Any, request: Any) -> Any:
    return await func(user="alice")


class WithMiddleware(tomodachi.Service):
    name = "mw"
    http_middleware = [forward_user]

    @tomodachi.http("GET", r"/me")
    async def me(self, request: Any, user: str) -> str:
        return user


async def test_http_middleware_may_supply_any_name(tomodachi_service: Any) -> None:
    svc = await tomodachi_service(WithMiddleware)
    async with svc.http.get("/me") as response:
        assert await response.text() == "alice"


class VarKeyword(tomodachi.Service):
    name = "varkw"

    @tomodachi.http("GET", r"/things/(?P<id>\d+)")
    async def things(self, request: Any, **kwargs: Any) -> str:
        return "ok"

    @tomodachi.schedule(interval=5)
    async def tick(self, *args: Any, **kwargs: Any) -> None:
        return None

    @tomodachi.amqp("things.#")
    async def on_thing(self, **kwargs: Any) -> None:
        return None


async def test_var_keyword_handlers_are_not_reported(tomodachi_service: Any) -> None:
    svc = await tomodachi_service(VarKeyword)
    assert svc.take_errors() == []


SIGNATURES = [
    "request",
    "req",
    "req, id",
    "req, item_id",
    "id, request",
    "item_id, request",
    "request, item_id=None",
    "*, request, id",
    "*, item_id",
    "id, /",
    "a, b",
]


@pytest.mark.parametrize("signature", SIGNATURES)
def test_http_check_agrees_with_injection(signature: str) -> None:
    """The start-time check flags exactly the signatures ``call_arguments`` fails on at call time."""
    namespace: dict[str, Any] = {}
    exec(f"async def handler({signature}): pass", namespace)  # noqa: S102 - builds the signatures under test
    func = namespace["handler"]
    request = object()
    try:
        call_arguments(func, groups={"id": "7"}, named={"request": request}, positional=(request,))
        fails = False
    except InjectionError:
        fails = True
    spec = HandlerSpec("http", "http", {"methods": ("GET",), "url": r"/items/(?P<id>\d+)"})
    context = TransportContext(
        service=tomodachi.Service(),
        options=tomodachi.Options(),
        environment=Environment(),
        handlers=(BoundHandler("handler", func, spec),),
    )
    assert bool(http_findings(context)) is fails


# -- schedule: upstream fails every run on a required parameter, so the start fails --------------------------------


class Ticker(tomodachi.Service):
    name = "ticker"

    @tomodachi.schedule(interval=5)
    async def tick(self, count: int) -> None:
        return None


async def test_schedule_required_parameter_fails_the_start(tomodachi_service: Any) -> None:
    message = str(await start_error(tomodachi_service, Ticker))
    assert message.startswith("Ticker.tick (service 'ticker'): parameter 'count' of @tomodachi.schedule(interval=5)")
    assert "injected: invocation_time, interval" in message


class TickerInjected(tomodachi.Service):
    name = "ticker-ok"

    @tomodachi.schedule(interval=5)
    async def tick(self, invocation_time: str, interval: Any, count: int = 0) -> None:
        return None


async def test_schedule_injected_names_are_not_reported(tomodachi_service: Any) -> None:
    svc = await tomodachi_service(TickerInjected)
    assert svc.take_errors() == []


# -- messaging: upstream passes None to an unknown positional parameter (warning) and fails every message with a
# TypeError on an unknown keyword-only one (start fails) ------------------------------------------------------------


class AmqpUnknown(tomodachi.Service):
    name = "amqp-unknown"
    message_envelope = JsonBase

    @tomodachi.amqp("order.created")
    async def on_order(self, data: Any, routing_keys: Any) -> None:
        return None


async def test_amqp_unknown_parameter_is_a_warning(tomodachi_service: Any, caplog: pytest.LogCaptureFixture) -> None:
    svc = await tomodachi_service(AmqpUnknown)
    [message] = signature_warnings(svc)
    # the log line is what users see in production, where nothing collects reported errors
    assert [r.getMessage().startswith(message) for r in caplog.records if r.levelname == "WARNING"] == [True]
    assert message.startswith("AmqpUnknown.on_order (service 'amqp-unknown'): parameter 'routing_keys'")
    assert "@tomodachi.amqp('order.created')" in message
    assert "envelope keys: data, metadata, service" in message
    assert "it receives None for every message" in message
    assert message.endswith("Did you mean 'routing_key'?")


class AmqpKeywordOnly(tomodachi.Service):
    name = "amqp-kw"
    message_envelope = JsonBase

    @tomodachi.amqp("order.created")
    async def on_order(self, data: Any, *, order: Any) -> None:
        return None


async def test_amqp_unknown_keyword_only_parameter_fails_the_start(tomodachi_service: Any) -> None:
    message = str(await start_error(tomodachi_service, AmqpKeywordOnly))
    assert "parameter 'order' of @tomodachi.amqp('order.created')" in message
    assert "keyword-only, so every message would fail" in message


class SnsSqsUnknown(tomodachi.Service):
    name = "sns-unknown"
    message_envelope = JsonBase

    @tomodachi.aws_sns_sqs("order-created")
    async def on_order(self, data: Any, topics: Any, sns_message_id: str) -> None:
        return None


async def test_sns_sqs_unknown_parameter_is_a_warning(tomodachi_service: Any) -> None:
    svc = await tomodachi_service(SnsSqsUnknown)
    [message] = signature_warnings(svc)
    assert message.startswith("SnsSqsUnknown.on_order (service 'sns-unknown'): parameter 'topics'")
    assert "@tomodachi.aws_sns_sqs('order-created')" in message
    assert message.endswith("Did you mean 'topic'?")


class SnsSqsKeywordOnly(tomodachi.Service):
    name = "sns-kw"
    message_envelope = JsonBase

    @tomodachi.aws_sns_sqs("order-created")
    async def on_order(self, data: Any, *, attributes: Any) -> None:
        return None


async def test_sns_sqs_unknown_keyword_only_parameter_fails_the_start(tomodachi_service: Any) -> None:
    message = str(await start_error(tomodachi_service, SnsSqsKeywordOnly))
    assert "parameter 'attributes' of @tomodachi.aws_sns_sqs('order-created')" in message
    assert message.endswith("Did you mean 'message_attributes'?")


class JsonBaseHandlers(tomodachi.Service):
    name = "jsonbase"
    message_envelope = JsonBase

    @tomodachi.amqp("a")
    async def on_amqp(self, data: Any, metadata: Any, service: Any, message_uuid: str, properties: Any) -> None:
        return None

    @tomodachi.aws_sns_sqs("b")
    async def on_sns(self, message: Any, metadata: Any, *, message_group_id: Any, raw_message_body: str) -> None:
        return None

    @tomodachi.amqp("c", message_envelope=None)
    async def raw(self, body: Any, routing_key: str) -> None:  # raw mode: the first parameter gets the body
        return None

    @tomodachi.amqp("d", callback_kwargs=["legacy"])
    async def legacy(self, data: Any, legacy: Any) -> None:
        return None


async def test_jsonbase_keys_and_transport_values_are_not_reported(tomodachi_service: Any) -> None:
    svc = await tomodachi_service(JsonBaseHandlers)
    assert svc.take_errors() == []


class CustomEnvelope:
    """Parses into keys the check cannot know."""

    @classmethod
    async def build_message(cls, service: Any, topic: str, data: Any, **kwargs: Any) -> str:
        return str(data)

    @classmethod
    async def parse_message(cls, payload: str, **kwargs: Any) -> tuple[Any, Any, Any]:
        return {"anything": payload}, None, None


async def sender(func: Any, service: Any, message: Any, routing_key: str) -> Any:
    return await func(sender="someone")


class Unknowable(tomodachi.Service):
    name = "unknowable"

    @tomodachi.amqp("custom", message_envelope=CustomEnvelope)
    async def custom(self, anything: Any, *, other: Any) -> None:
        return None


class WithMessageMiddleware(tomodachi.Service):
    name = "message-mw"
    message_envelope = JsonBase
    message_middleware = [sender]

    @tomodachi.amqp("m")
    async def on_message(self, data: Any, sender: str) -> None:
        return None


@pytest.mark.parametrize("service", [Unknowable, WithMessageMiddleware])
async def test_custom_envelopes_and_message_middleware_are_not_checked(tomodachi_service: Any, service: type) -> None:
    svc = await tomodachi_service(service)
    assert svc.take_errors() == []


class _Delivery(Delivery):
    async def _ack(self) -> None:
        return None

    async def _retry(self, delay: float) -> None:
        return None

    async def _dead_letter(self, reason: str) -> None:
        return None


def test_injected_values_match_what_the_transports_unwrap() -> None:
    amqp = amqp_adapter().unwrap(_Delivery(body="x", metadata={"routing_key": "k"}))
    assert amqp is not None and tuple(amqp.values) == AMQP_VALUES
    sns = make_unwrap("", False)(_Delivery(body='{"Message": "x", "Type": "Notification"}'))
    assert sns is not None and tuple(sns.values) == SNS_SQS_VALUES


def test_warning_and_error_types() -> None:
    assert issubclass(HandlerSignatureError, TypeError)
    assert issubclass(HandlerSignatureWarning, UserWarning)
    assert inspect.getmodule(HandlerSignatureError).__name__ == "tomodachi.handler_check"  # type: ignore[union-attr]
