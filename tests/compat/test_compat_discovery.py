"""service.discovery (deprecated): registry hooks in lifecycle order, bundled registries, failures contained."""

from __future__ import annotations

import logging
from typing import Any

import pytest

import tomodachi
from tomodachi.discovery import AWSSNSRegistration, DummyRegistry
from tomodachi.envelope import JsonBase

pytestmark = pytest.mark.filterwarnings("ignore:.*'discovery' attribute is deprecated:DeprecationWarning")


class RecordingRegistry:
    """A user registry written as in upstream docs: a class with async classmethod hooks."""

    events: list[Any] = []

    @classmethod
    async def add_http_endpoint(cls, service: Any, host: str, port: int, method: str, pattern: str) -> None:
        cls.events.append(("add_http_endpoint", host, port, method, pattern))

    @classmethod
    async def _register_service(cls, service: Any) -> None:
        cls.events.append(("register", service.name))

    @classmethod
    async def _deregister_service(cls, service: Any) -> None:
        cls.events.append(("deregister", service.name))


class Web(tomodachi.Service):
    name = "web"
    discovery = [RecordingRegistry]

    @tomodachi.http("GET", r"/health/?")
    async def health(self, request: Any) -> str:
        return "ok"

    @tomodachi.http(["POST", "PUT"], r"^/items/(?P<id>\d+)$")
    async def items(self, request: Any, id: str) -> str:
        return id

    async def _started_service(self) -> None:
        RecordingRegistry.events.append(("_started_service",))

    async def _stopping_service(self) -> None:
        RecordingRegistry.events.append(("_stopping_service",))

    async def _stop_service(self) -> None:
        RecordingRegistry.events.append(("_stop_service",))


@pytest.fixture(autouse=True)
def _fresh_registry() -> None:
    RecordingRegistry.events = []


async def test_hooks_run_in_lifecycle_order_with_every_declared_route(tomodachi_service: Any) -> None:
    svc = await tomodachi_service(Web)
    host, port = svc.container.transports["http"].bound_address
    assert RecordingRegistry.events == [
        ("add_http_endpoint", host, port, "GET", "^/health/?$"),
        ("add_http_endpoint", host, port, "POST", r"^/items/(?P<id>\d+)$"),
        ("add_http_endpoint", host, port, "PUT", r"^/items/(?P<id>\d+)$"),
        ("register", "web"),
        ("_started_service",),
    ]
    await svc.stop()
    assert RecordingRegistry.events[-3:] == [("_stopping_service",), ("deregister", "web"), ("_stop_service",)]


async def test_http_is_serving_when_the_service_registers(tomodachi_service: Any) -> None:
    class Probe:
        port = 0
        status: int | None = None

        @classmethod
        async def add_http_endpoint(cls, service: Any, host: str, port: int, method: str, pattern: str) -> None:
            cls.port = port

        @classmethod
        async def _register_service(cls, service: Any) -> None:
            import aiohttp

            async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{cls.port}/health") as r:
                cls.status = r.status

    class ProbeWeb(Web):
        name = "probe-web"
        discovery = [Probe]

    await tomodachi_service(ProbeWeb)
    assert Probe.status == 200


def test_using_discovery_warns() -> None:
    import asyncio

    from tomodachi.runtime import discovery

    class Svc:
        name = "svc"
        discovery = [DummyRegistry]
        context: dict[str, Any] = {}
        uuid = "u"

    with pytest.warns(DeprecationWarning, match="'discovery' attribute is deprecated"):
        asyncio.run(discovery.register(Svc(), {}))


async def test_no_discovery_means_no_warning_and_no_calls(tomodachi_service: Any, recwarn: Any) -> None:
    class Plain(tomodachi.Service):
        name = "plain"

        async def _started_service(self) -> None:
            pass

    await tomodachi_service(Plain)
    assert not [w for w in recwarn if "discovery" in str(w.message)]


class Broken:
    calls: list[str] = []

    @classmethod
    async def add_http_endpoint(cls, *args: Any) -> None:
        cls.calls.append("add_http_endpoint")
        raise RuntimeError("registry down")

    @classmethod
    async def _register_service(cls, service: Any) -> None:
        cls.calls.append("register")
        raise RuntimeError("registry down")

    @classmethod
    async def _deregister_service(cls, service: Any) -> None:
        cls.calls.append("deregister")
        raise RuntimeError("registry down")


async def test_failing_registry_is_logged_and_the_service_still_runs(
    tomodachi_service: Any, caplog: pytest.LogCaptureFixture
) -> None:
    class Resilient(Web):
        name = "resilient"
        discovery = [Broken, RecordingRegistry]

    Broken.calls = []
    caplog.set_level(logging.INFO)
    svc = await tomodachi_service(Resilient)
    response = await svc.http.get("/health")
    assert response.status == 200 and await response.text() == "ok"
    assert ("register", "resilient") in RecordingRegistry.events  # later registries still run
    await svc.stop()
    assert Broken.calls == ["add_http_endpoint"] * 3 + ["register", "deregister"]
    assert ("deregister", "resilient") in RecordingRegistry.events
    assert svc.container.stopped.is_set()
    failures = [r for r in caplog.records if r.name == "tomodachi.discovery"]
    assert len(failures) == 5 and all("registry down" in r.getMessage() for r in failures)


async def test_a_failed_start_deregisters_what_was_registered(tomodachi_service: Any) -> None:
    class FailsLate(tomodachi.Service):
        name = "fails-late"
        discovery = [RecordingRegistry]

        async def _started_service(self) -> None:
            raise RuntimeError("boom")

    with pytest.raises(Exception, match="boom"):
        await tomodachi_service(FailsLate)
    assert RecordingRegistry.events == [("register", "fails-late"), ("deregister", "fails-late")]


async def test_a_start_failing_before_registration_does_not_deregister(tomodachi_service: Any) -> None:
    class FailsEarly(tomodachi.Service):
        name = "fails-early"
        discovery = [RecordingRegistry]

        async def _start_service(self) -> None:
            raise RuntimeError("early")

    with pytest.raises(Exception, match="early"):
        await tomodachi_service(FailsEarly)
    assert RecordingRegistry.events == []


async def test_dummy_registry_collects_and_forgets_endpoints(
    tomodachi_service: Any, caplog: pytest.LogCaptureFixture
) -> None:
    class WithDummy(Web):
        name = "with-dummy"
        discovery = [DummyRegistry]

    caplog.set_level(logging.INFO)
    svc = await tomodachi_service(WithDummy)
    assert [endpoint[2:] for endpoint in DummyRegistry.endpoints_of(svc.instance)] == [
        ("GET", "^/health/?$"),
        ("POST", r"^/items/(?P<id>\d+)$"),
        ("PUT", r"^/items/(?P<id>\d+)$"),
    ]
    await svc.stop()
    assert DummyRegistry.endpoints_of(svc.instance) == []
    messages = [r.getMessage() for r in caplog.records if r.name == "tomodachi.discovery.dummy_registry"]
    assert any("registering service" in m for m in messages)
    assert any("deregistering service" in m for m in messages)


class Announced(Web):
    name = "announced"
    discovery = [AWSSNSRegistration]
    message_envelope = JsonBase


async def test_aws_sns_registration_publishes_register_and_deregister(
    tomodachi_service: Any, fake_sns_sqs: Any
) -> None:
    svc = await tomodachi_service(Announced)
    host, port = svc.container.transports["http"].bound_address
    [register] = fake_sns_sqs.published()
    assert register.topic == "services-registration-register"
    assert register.data == {
        "name": "announced",
        "uuid": svc.instance.uuid,
        "http_endpoints": [
            [host, port, "GET", "^/health/?$"],
            [host, port, "POST", r"^/items/(?P<id>\d+)$"],
            [host, port, "PUT", r"^/items/(?P<id>\d+)$"],
        ],
    }
    await svc.stop()
    assert [r.topic for r in fake_sns_sqs.published()] == [
        "services-registration-register",
        "services-registration-deregister",
    ]
    assert fake_sns_sqs.published()[-1].data == {"name": "announced", "uuid": svc.instance.uuid}


async def test_aws_sns_registration_reaches_a_subscriber(tomodachi_service: Any, fake_sns_sqs: Any) -> None:
    class Directory(tomodachi.Service):
        name = "directory"
        message_envelope = JsonBase
        seen: list[Any] = []

        @tomodachi.aws_sns_sqs("services-registration-register")
        async def on_register(self, data: Any) -> None:
            self.seen.append(data["name"])

    directory = await tomodachi_service(Directory)
    await tomodachi_service(Announced)
    await fake_sns_sqs.settle()
    assert directory.instance.seen == ["announced"]


async def test_aws_sns_registration_without_an_envelope_sends_json(tomodachi_service: Any, fake_sns_sqs: Any) -> None:
    class Bare(tomodachi.Service):
        name = "bare"
        discovery = [AWSSNSRegistration]

        async def _started_service(self) -> None:
            pass

    svc = await tomodachi_service(Bare)
    assert fake_sns_sqs.published()[0].data == {"name": "bare", "uuid": svc.instance.uuid, "http_endpoints": []}
