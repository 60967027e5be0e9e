"""Upstream's own example and test services, reproduced in our words: names they import, cron forms they use,
decorators they wrap handlers in, and relative imports inside service packages."""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

import tomodachi
from tomodachi.envelope import JsonBase
from tomodachi.runtime.importer import ServiceFileError, load_services
from tomodachi.testing import FakeSnsSqs, ServiceFactory, VirtualClock
from tomodachi.transport.http import RequestHandler


class ForwardedFor(tomodachi.Service):
    name = "forwarded-for"
    options = tomodachi.Options(http={"real_ip_from": "127.0.0.1"})

    @tomodachi.http("GET", r"/forwarded-for/?")
    async def forwarded_for(self, request: web.Request) -> str:
        return RequestHandler.get_request_ip(request) or ""


async def test_request_handler_get_request_ip_honours_a_trusted_proxy(tomodachi_service: ServiceFactory) -> None:
    svc = await tomodachi_service(ForwardedFor)
    async with svc.http.get("/forwarded-for", headers={"X-Forwarded-For": "10.1.2.3, 127.0.0.1"}) as response:
        assert await response.text() == "10.1.2.3"
    async with svc.http.get("/forwarded-for") as response:
        assert await response.text() == "127.0.0.1"


class MessageEvent:
    def __init__(self, data: Any, topic: str, sns_message_id: str) -> None:
        self.data, self.topic, self.sns_message_id = data, topic, sns_message_id


def sqs_event_handler(topic: str, queue_name: str) -> Any:
    """A user's own decorator: the handler takes one event object built from the injected arguments."""

    def wrap(func: Any) -> Any:
        @tomodachi.aws_sns_sqs(topic, queue_name=queue_name)
        @functools.wraps(func, assigned=("__module__", "__doc__", "__name__", "__qualname__"))
        async def wrapper(self: Any, data: Any, topic: str, sns_message_id: str) -> None:
            await func(self, event=MessageEvent(data, topic, sns_message_id))

        return wrapper

    return wrap


class Wrapped(tomodachi.Service):
    name = "wrapped"
    message_envelope = JsonBase

    def __init__(self) -> None:
        self.events: list[tuple[Any, str, bool]] = []

    @sqs_event_handler("orders.placed", queue_name="wrapped-orders")
    async def on_order(self, event: MessageEvent) -> None:
        self.events.append((event.data, event.topic, bool(event.sns_message_id)))


async def test_a_handler_wrapped_with_functools_wraps_is_called_by_the_wrappers_own_signature(
    tomodachi_service: ServiceFactory, fake_sns_sqs: FakeSnsSqs
) -> None:
    svc = await tomodachi_service(Wrapped)
    await fake_sns_sqs.publish("orders.placed", {"id": 1})
    await fake_sns_sqs.settle()
    assert svc.instance.events == [({"id": 1}, "orders.placed", True)]


class StackedWrappers(tomodachi.Service):
    name = "stacked-wrappers"
    message_envelope = JsonBase

    def __init__(self) -> None:
        self.events: list[tuple[Any, str]] = []

    @sqs_event_handler("orders.placed", queue_name="stacked-orders-placed")
    @sqs_event_handler("orders.paid", queue_name="stacked-orders-paid")
    async def on_order(self, event: MessageEvent) -> None:
        self.events.append((event.data, event.topic))


async def test_a_users_wrapping_decorator_stacked_twice_serves_both_subscriptions(
    tomodachi_service: ServiceFactory, fake_sns_sqs: FakeSnsSqs
) -> None:
    svc = await tomodachi_service(StackedWrappers)
    await fake_sns_sqs.publish("orders.placed", {"id": 1})
    await fake_sns_sqs.publish("orders.paid", {"id": 2})
    await fake_sns_sqs.settle()
    assert sorted(svc.instance.events, key=str) == [({"id": 1}, "orders.placed"), ({"id": 2}, "orders.paid")]


def test_a_service_file_inside_a_package_may_use_relative_imports(tmp_path: Path) -> None:
    package = tmp_path / "shop_pkg"
    (package / "common").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "common" / "__init__.py").write_text("")
    (package / "common" / "greeting.py").write_text("GREETING = 'hej'\n")
    (package / "service.py").write_text(
        "import tomodachi\nfrom .common.greeting import GREETING\n\n"
        "class Relative(tomodachi.Service):\n    name = 'relative'\n    greeting = GREETING\n\n"
        "    @tomodachi.http('GET', r'/')\n    async def index(self):\n        return self.greeting\n"
    )
    try:
        path, [service] = load_services(package / "service.py")
        assert service.greeting == "hej"
        assert service.__module__ == "shop_pkg.service"
    finally:
        for name in [m for m in sys.modules if m == "shop_pkg" or m.startswith("shop_pkg.")]:
            del sys.modules[name]
        sys.path[:] = [p for p in sys.path if p not in (str(tmp_path), str(package))]


class PreMiddlewareSchedule(tomodachi.Service):
    name = "pre-middleware-schedule"

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.ran = 0
        self._schedule_pre_middleware = [self.trace]

    async def trace(self, call_next: Any, service: Any, invocation_time: str) -> Any:
        self.seen.append(invocation_time)
        return await call_next()

    @tomodachi.schedule(interval=60)
    async def tick(self) -> None:
        self.ran += 1


async def test_schedule_pre_middleware_runs_around_scheduled_functions(
    tomodachi_service: ServiceFactory, virtual_clock: VirtualClock
) -> None:
    svc = await tomodachi_service(PreMiddlewareSchedule)
    await virtual_clock.advance("2 minutes")
    assert svc.instance.ran == 2
    assert len(svc.instance.seen) == 2 and all(seen.endswith("Z") for seen in svc.instance.seen)


def test_relative_imports_work_in_a_service_folder_without_init(tmp_path: Path) -> None:
    folder = tmp_path / "svc_folder"
    (folder / "helpers_pkg").mkdir(parents=True)
    (folder / "helpers_pkg" / "__init__.py").write_text("")
    (folder / "helpers_pkg" / "noop.py").write_text("def noop():\n    return 'noop'\n")
    (folder / "sibling.py").write_text("VALUE = 7\n")
    (folder / "relative.py").write_text(
        "import tomodachi\nfrom .helpers_pkg.noop import noop\nfrom .sibling import VALUE\n\n"
        "class Relative(tomodachi.Service):\n    name = 'relative-no-init'\n    found = (noop(), VALUE)\n\n"
        "    async def _start_service(self):\n        pass\n"
    )
    try:
        _, [service] = load_services(folder / "relative.py")
        assert service.found == ("noop", 7)
    finally:
        for name in [m for m in sys.modules if m == "svc_folder" or m.startswith("svc_folder.")]:
            del sys.modules[name]
        sys.path[:] = [p for p in sys.path if p not in (str(tmp_path), str(folder))]


@pytest.mark.parametrize("file_name", ["service.py", "svc-copy.py"])
def test_relative_imports_work_in_a_folder_whose_name_is_not_an_identifier(tmp_path: Path, file_name: str) -> None:
    folder = tmp_path / "svc-copy"
    folder.mkdir()
    (folder / "code.py").write_text("VALUE = 'from code'\n")
    (folder / file_name).write_text(
        "import tomodachi\nfrom .code import VALUE\n\n"
        "class Copied(tomodachi.Service):\n    name = 'copied'\n    found = VALUE\n\n"
        "    async def _start_service(self):\n        pass\n"
    )
    try:
        _, [service] = load_services(folder / file_name)
        assert service.found == "from code"
    finally:
        for name in [m for m in sys.modules if m == "svc-copy" or m.startswith("svc-copy.")]:
            del sys.modules[name]
        sys.path[:] = [p for p in sys.path if p not in (str(tmp_path), str(folder))]


def test_a_service_package_named_like_a_standard_module_is_refused_clearly(tmp_path: Path) -> None:
    folder = tmp_path / "os"
    folder.mkdir()
    (folder / "__init__.py").write_text("")
    (folder / "code.py").write_text("X = 1\n")
    (folder / "service.py").write_text("import tomodachi\nfrom .code import X\n")
    try:
        with pytest.raises(ServiceFileError, match="would shadow the standard library module"):
            load_services(folder / "service.py")
    finally:
        sys.path[:] = [p for p in sys.path if p not in (str(tmp_path), str(folder))]


async def test_a_handler_may_return_an_aiohttp_file_response(
    tomodachi_harness: Any, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    svc = await tomodachi_harness.start(Path(__file__).with_name("file_serving_service.py"))
    with caplog.at_level(logging.ERROR):
        async with svc.http.get("/") as response:
            assert response.status == 200
            assert "class FileServing" in await response.text()  # the service file itself
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


CALLS: list[str] = []


def logged(func: Any) -> Any:
    @functools.wraps(func)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        CALLS.append(func.__name__)
        return await func(*args, **kwargs)

    return wrapper


def logged_with_signature(func: Any) -> Any:
    @functools.wraps(func)
    async def wrapper(self: Any, data: Any) -> Any:
        CALLS.append(func.__name__)
        return await func(self, data)

    return wrapper


class DecoratorPlacement(tomodachi.Service):
    name = "decorator-placement"
    message_envelope = JsonBase

    @logged
    @tomodachi.aws_sns_sqs("above.a", queue_name="placement-above-a")
    @tomodachi.aws_sns_sqs("above.b", queue_name="placement-above-b")
    async def above(self, data: Any) -> None: ...

    @tomodachi.aws_sns_sqs("between.a", queue_name="placement-between-a")
    @logged
    @tomodachi.aws_sns_sqs("between.b", queue_name="placement-between-b")
    async def between(self, data: Any) -> None: ...

    @tomodachi.aws_sns_sqs("below.a", queue_name="placement-below-a")
    @tomodachi.aws_sns_sqs("below.b", queue_name="placement-below-b")
    @logged_with_signature
    async def below(self, data: Any) -> None: ...


async def test_a_plain_decorator_runs_above_or_below_the_handler_decorators_but_not_between_them(
    tomodachi_service: ServiceFactory, fake_sns_sqs: FakeSnsSqs
) -> None:
    CALLS.clear()
    await tomodachi_service(DecoratorPlacement)
    for place in ("above", "between", "below"):
        for topic in ("a", "b"):
            await fake_sns_sqs.publish(f"{place}.{topic}", {"n": 1})
    await fake_sns_sqs.settle()
    assert sorted(CALLS) == ["above", "above", "below", "below"]  # as upstream: sandwiched, it is skipped
