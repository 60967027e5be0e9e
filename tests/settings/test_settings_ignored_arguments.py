"""Decorator arguments nothing would honour are named in a warning (upstream tolerated them); the AMQP
decorator's max_receive_count is honoured."""

from __future__ import annotations

import warnings
from typing import Any

import pytest

import tomodachi
from tomodachi.envelope import JsonBase
from tomodachi.settings_check import SettingWarning
from tomodachi.testing import FakeAmqp, ServiceFactory, TestSystem


class Misspelled(tomodachi.Service):
    name = "misspelled"
    message_envelope = JsonBase

    @tomodachi.amqp("orders.placed", queue_name="misspelled-orders", max_recieve_count=2)
    async def placed(self, data: Any) -> None:
        return None


class SnsMisspelled(tomodachi.Service):
    name = "sns-misspelled"
    message_envelope = JsonBase

    @tomodachi.aws_sns_sqs("orders.placed", queue_name="sns-misspelled", filter_polcy={"a": ["b"]})
    async def placed(self, data: Any) -> None:
        return None


class Counted(tomodachi.Service):
    name = "counted"
    message_envelope = JsonBase

    @tomodachi.amqp("orders.placed", queue_name="counted-orders", max_receive_count=2)
    async def placed(self, data: Any) -> None:
        raise RuntimeError("always fails")


class Custom:
    """An envelope whose parser takes any option: nothing can be said about its kwargs."""

    @classmethod
    async def build_message(cls, service: Any, topic: str, data: Any, **kwargs: Any) -> str:
        return str(data)

    @classmethod
    async def parse_message(cls, payload: str, **kwargs: Any) -> tuple[dict[str, Any], Any, Any]:
        return {"data": payload}, None, None


class CustomOptions(tomodachi.Service):
    name = "custom-options"
    message_envelope = Custom

    @tomodachi.amqp("orders.placed", queue_name="custom-orders", strict=True)
    async def placed(self, data: Any) -> None:
        return None


async def test_an_unknown_amqp_argument_is_named_with_the_closest_option(tomodachi_service: ServiceFactory) -> None:
    with pytest.warns(SettingWarning) as caught:
        await tomodachi_service(Misspelled)
    [warning] = [w for w in caught if issubclass(w.category, SettingWarning)]
    assert str(warning.message) == (
        "@amqp on Misspelled.placed: max_recieve_count=2 is not an option of @amqp nor of the JsonBase "
        "envelope's parser, so it is ignored (did you mean 'max_receive_count'?)"
    )


async def test_an_unknown_sns_sqs_argument_is_named_with_the_closest_option(
    tomodachi_service: ServiceFactory,
) -> None:
    with pytest.warns(SettingWarning, match=r"filter_polcy=.*did you mean 'filter_policy'\?"):
        await tomodachi_service(SnsMisspelled)


async def test_a_custom_envelope_may_take_any_parser_option(tomodachi_service: ServiceFactory) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", SettingWarning)
        await tomodachi_service(CustomOptions)


async def test_amqp_max_receive_count_sets_the_attempts_before_the_dead_letter(
    tomodachi_service: ServiceFactory, tomodachi_system: TestSystem, fake_amqp: FakeAmqp
) -> None:
    svc = await tomodachi_service(Counted)
    await fake_amqp.publish("orders.placed", {"id": 1})
    await tomodachi_system.run_until_idle()
    assert len(svc.calls("placed")) == 2
    [dead] = fake_amqp.take_dead_letters("counted-orders")
    assert dead.receive_count == 2
    svc.take_errors()


def test_amqp_max_receive_count_must_be_a_positive_int() -> None:
    with pytest.raises(ValueError, match="max_receive_count must be an int >= 1, got 0"):
        tomodachi.amqp("orders.placed", max_receive_count=0)


def test_an_out_of_range_sqs_batch_size_is_named_and_replaced_by_10() -> None:
    with pytest.warns(SettingWarning, match=r"max_number_of_consumed_messages=50 is not a whole number from 1 to 10"):

        class Batched(tomodachi.Service):
            name = "batched"

            @tomodachi.aws_sns_sqs("orders.placed", max_number_of_consumed_messages=50)
            async def placed(self, data: Any) -> None:
                return None


@pytest.mark.parametrize(
    ("decorate", "message"),
    [
        (lambda: tomodachi.http("GET", r"/", ignore_loging=True), "(did you mean 'ignore_logging'?)"),
        (lambda: tomodachi.http_static(".", r"/s/", ignore_loging=True), "(did you mean 'ignore_logging'?)"),
        (lambda: tomodachi.schedule(intervl=5), "(did you mean 'interval'?)"),
    ],
)
def test_a_mistyped_decorator_keyword_names_the_closest_one(decorate: Any, message: str) -> None:
    with pytest.raises(TypeError) as info:
        decorate()
    assert "unexpected keyword argument" in str(info.value) and str(info.value).endswith(message)
