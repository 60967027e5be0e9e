"""Harness options are layered key by key (class, wire, config, test), nested or dotted."""

from __future__ import annotations

from typing import Any

from testing_support import Quitter


async def test_nested_options_layer_over_nested_config_key_by_key(tomodachi_service: Any) -> None:
    svc = await tomodachi_service(
        Quitter,
        config={"options": {"http": {"port": 1234, "host": "10.0.0.1"}}},
        options={"http": {"port": 4321}},
    )
    assert svc.instance.options.http.port == 4321
    assert svc.instance.options.http.host == "10.0.0.1"


async def test_dotted_config_key_is_not_lost_under_nested_options(tomodachi_service: Any) -> None:
    svc = await tomodachi_service(
        Quitter,
        config={"options": {"http.port": 1234}},
        options={"http": {"host": "10.0.0.1"}},
    )
    assert (svc.instance.options.http.port, svc.instance.options.http.host) == (1234, "10.0.0.1")


async def test_per_test_queue_prefix_goes_before_a_prefix_given_in_test_options(virtual_clock: Any) -> None:
    from tomodachi.testing.harness import ServiceHarness

    harness = ServiceHarness(virtual_clock, wire="real", wire_options={"amqp.queue_name_prefix": "t1-"})
    try:
        svc = await harness.start(Quitter, options={"amqp": {"queue_name_prefix": "own-"}})
        assert svc.instance.options.amqp.queue_name_prefix == "t1-own-"
    finally:
        await harness.stop_all()
