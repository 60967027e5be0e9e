"""`--brokers memory` in the launcher: one in-memory broker per bus shared by every service of the process,
kept across a reload, and its HTTP view (queues, depths, dead letters, recent publishes, observed flows)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

import tomodachi
from tests.topology.mermaid_reader import read_flowchart
from tomodachi.runtime.embedded import EmbeddedBrokers
from tomodachi.runtime.inspect_view import InspectServer
from tomodachi.runtime.launcher import Launcher

SYSTEM = Path(__file__).resolve().parents[1] / "topology" / "system"
FILES = [str(SYSTEM / "inventory.py"), str(SYSTEM / "shipping.py")]
MEMORY = {"amqp": "memory", "aws_sns_sqs": "memory"}
CONFIG = {"options": {"http": {"port": 0, "host": "127.0.0.1"}}}


async def wait_until(broker: Any, condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Wait on the broker's change event (no polling sleeps) until ``condition()`` holds."""

    async def watch() -> None:
        while not condition():
            event = broker.changed()
            event.clear()
            await event.wait()

    await asyncio.wait_for(watch(), timeout)


def instance(launcher: Launcher, name: str) -> Any:
    return next(c.instance for c in launcher.containers if c.name == name)


async def test_services_of_one_process_share_the_in_memory_brokers() -> None:
    launcher = Launcher(FILES, config=CONFIG, brokers=MEMORY)
    await launcher.start_services()
    try:
        assert launcher.embedded is not None
        amqp = launcher.embedded.brokers["amqp"]
        inventory, shipping = instance(launcher, "inventory"), instance(launcher, "shipping")
        await tomodachi.amqp_publish(inventory, {"sku": "a-1"}, routing_key="stock.reserved")
        await wait_until(amqp, lambda: shipping.shipped == ["a-1"])
        # the consumers' queues are on the one broker, whatever their services' connection options
        assert {"inventory-stock", "shipping-reserved"} <= set(amqp.queue_names())
    finally:
        await launcher.stop_services()
        assert launcher.embedded is not None
        await launcher.embedded.close()


async def test_in_memory_queues_keep_their_messages_across_a_reload() -> None:
    launcher = Launcher([FILES[1]], config=CONFIG, brokers=MEMORY)
    await launcher.start_services()
    assert launcher.embedded is not None
    amqp = launcher.embedded.brokers["amqp"]
    before = instance(launcher, "shipping")
    await launcher.stop_services()  # what a reload does before starting the services again
    await tomodachi.amqp_publish(before, {"sku": "b-2"}, routing_key="stock.reserved")
    assert amqp.queue_depth("shipping-reserved") == 1  # nobody consumes while the services are down
    await launcher.start_services()
    try:
        after = instance(launcher, "shipping")
        assert after is not before
        await wait_until(amqp, lambda: after.shipped == ["b-2"])
    finally:
        await launcher.stop_services()
        await launcher.embedded.close()


async def test_a_broker_from_a_factory_is_left_open_by_close_brokers() -> None:
    launcher = Launcher([FILES[1]], config=CONFIG, brokers={"amqp": "memory", "aws_sns_sqs": "real"})
    assert launcher.embedded is not None and set(launcher.embedded.brokers) == {"amqp"}
    broker = launcher.embedded.brokers["amqp"]
    assert launcher.environment.broker("amqp", "any-key", lambda: None) is broker
    await launcher.environment.close_brokers()
    assert not broker.closed
    await launcher.embedded.close()
    assert broker.closed


def test_inspect_needs_an_in_memory_bus() -> None:
    with pytest.raises(ValueError, match="inspect shows the in-memory brokers"):
        Launcher(FILES, brokers={"amqp": "real", "aws_sns_sqs": "real"}, inspect=("127.0.0.1", 0))


def test_an_unknown_bus_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown bus 'kafka'"):
        EmbeddedBrokers({"kafka": "memory"}, clock=Launcher(FILES).environment.clock)


def test_the_start_up_notice_says_messages_are_lost_when_the_process_stops() -> None:
    notice = EmbeddedBrokers({"amqp": "memory", "aws_sns_sqs": "real"}, Launcher(FILES).environment.clock).notice()
    assert notice == (
        "in-memory message brokers for amqp: messages live in this process only and are lost when it stops"
    )


async def test_inspect_view_shows_queues_dead_letters_recent_messages_and_flows() -> None:
    launcher = Launcher(FILES, config=CONFIG, brokers=MEMORY, inspect=("127.0.0.1", 0))
    assert launcher.embedded is not None and launcher.recorder is not None
    await launcher.start_services()
    view = InspectServer(launcher.embedded.brokers, launcher.recorder.topology, "127.0.0.1", 0)
    url = await view.start()
    try:
        inventory = instance(launcher, "inventory")
        sns = launcher.embedded.brokers["aws_sns_sqs"]
        inventory.reserved.clear()
        await tomodachi.aws_sns_sqs_publish(inventory, {"sku": "c-3"}, topic="order.placed",
                                            message_attributes={"country": "SE"})  # fmt: skip
        await wait_until(sns, lambda: inventory.reserved == ["c-3"])
        async with aiohttp.ClientSession() as client:
            async with client.get(url) as response:
                assert response.status == 200
                state = await response.json()
            async with client.get(url + "topology") as response:
                chart = read_flowchart(await response.text())
            async with client.get(url + "?recent=many") as response:
                assert response.status == 400
            async with client.get(url + "topology?format=svg") as response:
                assert response.status == 400
    finally:
        await view.stop()
        await launcher.stop_services()
        await launcher.embedded.close()
    queues = {q["name"]: q for q in state["aws_sns_sqs"]["queues"]}
    assert queues["dev-inventory-orders"]["dead_letter_queue"] == "dev-inventory-orders-dlq"
    assert state["aws_sns_sqs"]["topics"] == ["dev-order.placed"]
    recent = state["aws_sns_sqs"]["recent"]
    assert recent[-1]["topic"] == "dev-order.placed" and recent[-1]["delivered_to"] == ["dev-inventory-orders"]
    assert recent[-1]["data"] == {"sku": "c-3"}
    amqp_recent = state["amqp"]["recent"][-1]
    assert amqp_recent["routing_key"] == "dev.stock.reserved"
    assert set(amqp_recent["routed_to"]) == {"inventory-stock", "shipping-reserved"}
    assert ("inventory", "==>", "1 published", "AMQP dev.stock.reserved") in set(chart.edges)


async def test_inspect_view_lists_amqp_dead_letters_with_their_data() -> None:
    launcher = Launcher(FILES, config=CONFIG, brokers=MEMORY)
    await launcher.start_services()
    assert launcher.embedded is not None
    brokers = launcher.embedded.brokers
    try:
        inventory, shipping = instance(launcher, "inventory"), instance(launcher, "shipping")
        await tomodachi.amqp_publish(inventory, {"no": "sku"}, routing_key="stock.reserved")  # KeyError, 3 times
        await wait_until(brokers["amqp"], lambda: bool(brokers["amqp"].dead_letters), timeout=15)
    finally:
        await launcher.stop_services()
        await launcher.embedded.close()
    from tomodachi.runtime.inspect_view import snapshot

    dead = snapshot(brokers)["amqp"]["dead_letters"]
    assert [(d["queue"], d["dead_letter_queue"], d["routing_key"], d["data"]) for d in dead] == [
        ("shipping-reserved", "shipping-reserved.dlq", "dev.stock.reserved", {"no": "sku"})
    ]
    assert shipping.shipped == []


def _service_on_port(folder: Path, file: str, name: str, port: int) -> str:
    path = folder / file
    path.write_text(
        "import tomodachi\n\n"
        f"class S(tomodachi.Service):\n    name = {name!r}\n"
        f"    options = tomodachi.Options(http={{'port': {port}, 'host': '127.0.0.1'}})\n\n"
        "    @tomodachi.http('GET', r'/x')\n    async def x(self):\n        return 'x'\n"
    )
    return str(path)


async def test_two_services_of_one_process_cannot_share_an_http_port(tmp_path: Path) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    first = _service_on_port(tmp_path, "first.py", "first", port)
    second = _service_on_port(tmp_path, "second.py", "second", port)
    launcher = Launcher([first, second], brokers=MEMORY)
    with pytest.raises(Exception, match=r"service '(first|second)' in this process already listens there"):
        await launcher.start_services()
    assert launcher.environment.http_ports == {}  # the one that bound released the port when it was stopped


async def test_a_restarted_service_keeps_its_uuid_and_its_per_instance_queue(tmp_path: Path) -> None:
    service = tmp_path / "listener.py"
    service.write_text(
        "import tomodachi\n\n"
        "class Listener(tomodachi.Service):\n    name = 'listener'\n\n"
        "    @tomodachi.amqp('stock.reserved')\n    async def reserved(self, data):\n        return None\n"
    )
    launcher = Launcher([str(service)], brokers=MEMORY)
    await launcher.start_services()
    assert launcher.embedded is not None
    amqp = launcher.embedded.brokers["amqp"]
    first_uuid, queues = instance(launcher, "listener").uuid, set(amqp.queue_names())
    for _ in range(3):  # reloads
        await launcher.stop_services()
        await launcher.start_services()
    try:
        assert instance(launcher, "listener").uuid == first_uuid
        assert set(amqp.queue_names()) == queues  # no queue left behind per reload
    finally:
        await launcher.stop_services()
        await launcher.embedded.close()


async def test_inspect_view_shows_sqs_dead_letters_and_moves_with_their_data() -> None:
    from tomodachi.runtime.inspect_view import snapshot

    launcher = Launcher([FILES[0]], config=CONFIG, brokers=MEMORY)
    await launcher.start_services()
    assert launcher.embedded is not None
    sns = launcher.embedded.brokers["aws_sns_sqs"]
    try:
        inventory = instance(launcher, "inventory")
        await tomodachi.aws_sns_sqs_publish(inventory, {"no": "sku"}, topic="order.placed",
                                            message_attributes={"country": "SE"})  # fmt: skip
        await wait_until(sns, lambda: bool(sns.messages("dev-inventory-orders-dlq")), timeout=20)
    finally:
        await launcher.stop_services()
        await launcher.embedded.close()
    state = snapshot(launcher.embedded.brokers)["aws_sns_sqs"]
    [dead] = state["dead_letters"]
    assert (dead["queue"], dead["dead_letter_queue"], dead["data"]) == (
        "dev-inventory-orders",
        "dev-inventory-orders-dlq",
        {"no": "sku"},
    )
    moved = state["recent"][-1]  # the move to the dead-letter queue shows the message's data, not SNS's JSON
    assert (moved["queue"], moved["data"]) == ("dev-inventory-orders-dlq", {"no": "sku"})
