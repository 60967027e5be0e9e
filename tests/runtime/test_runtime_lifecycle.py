"""ServiceContainer lifecycle: hook and transport order, start failures, graceful stop, config."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import tomodachi
from tomodachi.handlers import invoker
from tomodachi.runtime.container import ServiceContainer, ServiceStartError
from tomodachi.runtime.environment import Environment


@invoker("recording")
def recording(topic: str = "default", **kwargs: Any) -> dict[str, Any]:
    return {"topic": topic, **kwargs}


class Recorded(tomodachi.Service):
    """Records every lifecycle step into ``self.events`` (the recording transport appends there too)."""

    name = "recorded"
    fail_in: str | None = None

    def __init__(self) -> None:
        self.events: list[str] = []

    def _hook(self, hook: str) -> None:
        self.events.append(hook)
        if self.fail_in == hook:
            raise RuntimeError(f"boom in {hook}")

    async def _start_service(self) -> None:
        self._hook("_start_service")

    async def _started_service(self) -> None:
        self._hook("_started_service")

    async def _stopping_service(self) -> None:
        self._hook("_stopping_service")

    async def _stop_service(self) -> None:
        self._hook("_stop_service")

    @recording("a")
    async def on_a(self, value: Any = None) -> Any:
        self.events.append(f"on_a:{value}")
        return value


def _container(service_class: type, **kwargs: Any) -> ServiceContainer:
    return ServiceContainer(service_class, Environment(), **kwargs)


async def test_start_and_stop_order() -> None:
    container = _container(Recorded)
    await container.start()
    assert container.started.is_set()
    assert container.instance.events == [
        "_start_service",
        "transport.setup",
        "_started_service",
        "transport.start",
    ]
    await container.stop()
    assert container.stopped.is_set()
    assert container.instance.events[4:] == ["_stopping_service", "transport.stop", "_stop_service"]


async def test_stopping_hook_completes_before_transports_stop() -> None:
    entered, release = asyncio.Event(), asyncio.Event()

    class SlowStopping(Recorded):
        async def _stopping_service(self) -> None:
            self.events.append("_stopping_service")
            entered.set()
            await release.wait()
            self.events.append("_stopping_service done")

    container = _container(SlowStopping)
    await container.start()
    stop = asyncio.create_task(container.stop())
    await asyncio.wait_for(entered.wait(), 5)
    assert "transport.stop" not in container.instance.events
    release.set()
    await asyncio.wait_for(stop, 5)
    assert container.instance.events[-4:] == [
        "_stopping_service",
        "_stopping_service done",
        "transport.stop",
        "_stop_service",
    ]


async def test_stop_is_idempotent() -> None:
    container = _container(Recorded)
    await container.start()
    await asyncio.gather(container.stop(), container.stop())
    await container.stop()
    assert container.instance.events.count("_stop_service") == 1
    assert container.instance.events.count("transport.stop") == 1


async def test_transport_gets_service_options_and_grace_period(recording_transport: Any) -> None:
    class Graceful(Recorded):
        options = tomodachi.Options(http={"termination_grace_period_seconds": 7})

    container = _container(Graceful)
    await container.start()
    (transport,) = recording_transport.instances
    assert transport.context.service is container.instance
    assert transport.context.options.http.termination_grace_period_seconds == 7
    assert [h.name for h in transport.context.handlers] == ["on_a"]
    assert await transport.deliver("a", 5) == [5]
    await container.stop()
    assert transport.stopped_with == 7


@pytest.mark.parametrize("hook", ["_start_service", "_started_service"])
async def test_exception_in_start_hook_stops_gracefully_and_raises(hook: str) -> None:
    class Failing(Recorded):
        fail_in = hook

    container = _container(Failing)
    with pytest.raises(ServiceStartError) as info:
        await container.start()
    assert info.value.stage == hook
    assert isinstance(info.value.cause, RuntimeError)
    assert f"boom in {hook}" in str(info.value)
    assert "recorded" in str(info.value)
    events = container.instance.events
    assert "transport.start" not in events  # no work was ever delivered
    assert events[-2:] == ["transport.stop", "_stop_service"]  # resources released, user teardown ran
    assert not container.started.is_set()
    assert container.stopped.is_set()
    assert tomodachi.get_service("recorded") is None


async def test_transport_setup_failure_aborts_before_started_hook() -> None:
    class BadSetup(Recorded):
        fail_transport_setup = OSError("address in use")

    container = _container(BadSetup)
    with pytest.raises(ServiceStartError) as info:
        await container.start()
    assert info.value.stage == "transport setup"
    assert "_started_service" not in container.instance.events
    assert container.instance.events[-2:] == ["transport.stop", "_stop_service"]


async def test_exception_in_init_raises_service_start_error() -> None:
    class BrokenInit(tomodachi.Service):
        name = "broken-init"

        def __init__(self) -> None:
            raise KeyError("missing")

        async def _start_service(self) -> None:
            pass

    with pytest.raises(ServiceStartError) as info:
        await _container(BrokenInit).start()
    assert info.value.stage == "initialize instance"


@pytest.mark.parametrize("hook", ["_stopping_service", "_stop_service"])
async def test_exception_in_stop_hooks_is_logged_and_stop_completes(hook: str) -> None:
    class FailingStop(Recorded):
        fail_in = hook

    container = _container(FailingStop)
    await container.start()
    await container.stop()
    assert container.stopped.is_set()
    assert container.instance.events[-3:] == ["_stopping_service", "transport.stop", "_stop_service"]


async def test_lifecycle_only_service_starts_without_transports(recording_transport: Any) -> None:
    class OnlyHooks(tomodachi.Service):
        name = "only-hooks"
        started = False

        async def _started_service(self) -> None:
            self.started = True

    container = _container(OnlyHooks)
    await container.start()
    assert container.instance.started
    assert container.transports == {}
    assert recording_transport.instances == []
    await container.stop()


async def test_sync_hooks_are_supported() -> None:
    class SyncHooks(tomodachi.Service):
        name = "sync-hooks"

        def __init__(self) -> None:
            self.events: list[str] = []

        def _start_service(self) -> None:
            self.events.append("start")

        def _stop_service(self) -> None:
            self.events.append("stop")

    container = _container(SyncHooks)
    await container.start()
    await container.stop()
    assert container.instance.events == ["start", "stop"]


async def test_service_registry_during_and_after_run() -> None:
    class Alpha(Recorded):
        name = "alpha"

    class Beta(Recorded):
        name = "beta"

    alpha, beta = _container(Alpha), _container(Beta)
    await alpha.start()
    await beta.start()
    assert tomodachi.get_service() is beta.instance  # most recently registered
    assert tomodachi.get_service("alpha") is alpha.instance
    assert tomodachi.get_instance("beta") is beta.instance
    assert tomodachi.get_service("nope") is None
    assert tomodachi.get_services() == [alpha.instance, beta.instance]
    await beta.stop()
    assert tomodachi.get_service() is alpha.instance
    await alpha.stop()
    assert tomodachi.get_services() == []
    assert tomodachi.get_service() is None


async def test_instance_context_holds_attributes_and_file_path() -> None:
    class WithAttributes(Recorded):
        name = "with-attributes"
        custom_setting = "value"

    container = _container(WithAttributes, file_path="/srv/service.py")
    await container.start()
    context = container.instance.context
    assert context["name"] == "with-attributes"
    assert context["custom_setting"] == "value"
    assert context["_service_file_path"] == "/srv/service.py"
    assert "on_a" not in context  # methods are not context values
    await container.stop()


async def test_config_options_merge_over_class_options_key_by_key() -> None:
    class Configured(Recorded):
        options = tomodachi.Options(http={"port": 1234})

    container = _container(Configured, config={"options": {"http": {"host": "127.0.0.1"}}})
    await container.start()
    options = container.instance.options
    assert options.http.port == 1234
    assert options.http.host == "127.0.0.1"
    # the class-level options are not mutated by one instance's config
    assert Configured.options.http.host != "127.0.0.1"
    await container.stop()


async def test_config_other_keys_concatenate_merge_or_replace() -> None:
    class Configured(Recorded):
        tags = ["a"]
        labels = {"x": 1}
        level = "low"

    config = {"tags": ["b"], "labels": {"y": 2}, "level": "high", "extra": 3}
    container = _container(Configured, config=config)
    await container.start()
    instance = container.instance
    assert (instance.tags, instance.labels, instance.level, instance.extra) == (["a", "b"], {"x": 1, "y": 2}, "high", 3)
    assert Configured.tags == ["a"]
    await container.stop()


async def test_bad_config_raises_service_start_error() -> None:
    container = _container(Recorded, config={"options": {"http": {"no_such_key": 1}}})
    with pytest.raises(ServiceStartError) as info:
        await container.start()
    assert info.value.stage == "config"


async def test_instances_do_not_share_options() -> None:
    first, second = _container(Recorded), _container(Recorded)
    await first.start()
    await first.stop()
    await second.start()
    assert first.instance.options is not second.instance.options
    assert first.instance.options is not Recorded.options
    await second.stop()
