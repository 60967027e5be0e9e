"""Every remaining upstream import path resolves, names what it should, and stays light to import."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import tomodachi

MODULES = [
    "tomodachi.validation",
    "tomodachi.validation.validation",
    "tomodachi.discovery",
    "tomodachi.discovery.dummy_registry",
    "tomodachi.discovery.aws_sns_registration",
    "tomodachi.helpers",
    "tomodachi.helpers.crontab",
    "tomodachi.helpers.execution_context",
    "tomodachi.helpers.middleware",
    "tomodachi.helpers.dict",
    "tomodachi.helpers.aiobotocore_connector",
    "tomodachi.container",
    "tomodachi.launcher",
    "tomodachi.importer",
    "tomodachi.watcher",
    "tomodachi.invoker",
]
HEAVY = ("aiohttp", "aiobotocore", "botocore", "aioamqp", "watchfiles", "croniter")


def test_importing_every_compat_path_loads_no_transport_library() -> None:
    code = (
        "import sys, importlib\n"
        f"for name in {MODULES!r}: importlib.import_module(name)\n"
        "import tomodachi.discovery as d\n"
        "d.DummyRegistry, d.AWSSNSRegistration\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip() == ""


@pytest.mark.parametrize(
    "name",
    "cli container discovery envelope helpers importer invoker launcher logging options transport validation "
    "watcher".split(),
)
def test_submodules_are_attributes_of_tomodachi(name: str) -> None:
    module = getattr(tomodachi, name)
    assert module is importlib.import_module(f"tomodachi.{name}")
    assert name in dir(tomodachi)


def test_unknown_attribute_still_raises() -> None:
    with pytest.raises(AttributeError, match="no_such_name"):
        tomodachi.no_such_name  # noqa: B018


def test_validation_package_init_is_empty() -> None:
    package = importlib.import_module("tomodachi.validation")
    # only the submodule attribute set by importing tomodachi.validation.validation may be present
    assert {name for name in vars(package) if not name.startswith("__")} <= {"validation"}


def test_discovery_aliases() -> None:
    from tomodachi import discovery
    from tomodachi.discovery import AWSSNSRegistration, DummyRegistry, aws_sns, awssns, dummy, example

    assert dummy is example is DummyRegistry
    assert awssns is aws_sns is AWSSNSRegistration
    assert discovery.dummy_registry.DummyRegistry is DummyRegistry
    assert discovery.aws_sns_registration.AWSSNSRegistration is AWSSNSRegistration
    assert set(discovery.__all__) <= set(dir(discovery))
    with pytest.raises(AttributeError):
        discovery.nothing  # noqa: B018


def test_runtime_re_exports() -> None:
    from tomodachi.container import ServiceContainer
    from tomodachi.importer import import_service_file, load_services
    from tomodachi.launcher import Launcher
    from tomodachi.runtime import importer, launcher, module_container, reload
    from tomodachi.watcher import watch_and_reload

    assert ServiceContainer is module_container.ModuleContainer  # upstream's ServiceContainer(module)
    assert Launcher is launcher.Launcher
    assert import_service_file is importer.import_service_file and load_services is importer.load_services
    assert watch_and_reload is reload.watch_and_reload


def test_helper_re_exports() -> None:
    from tomodachi import middleware, options
    from tomodachi.helpers.dict import merge_dicts
    from tomodachi.helpers.middleware import execute_middlewares
    from tomodachi.runtime import context

    assert execute_middlewares is middleware.execute_middlewares
    assert merge_dicts is options.merge_dicts
    assert merge_dicts({"a": {"b": 1}, "l": [1]}, {"a": {"c": 2}, "l": [2]}) == {"a": {"b": 1, "c": 2}, "l": [1, 2]}
    from tomodachi.helpers import execution_context as helper

    assert helper.get_execution_context is context.get_execution_context
    assert helper.set_service is context._set_service and helper.unset_service is context._unset_service
    assert helper.clear_services is context._clear_services
    assert helper.clear_execution_context is context._clear_execution_context
    for name in helper.__all__:
        assert callable(getattr(helper, name))


def test_execution_context_helpers_share_the_runtime_state() -> None:
    from tomodachi.helpers import execution_context as helper

    helper.increase_execution_context_value("compat_test_counter", 3)
    helper.decrease_execution_context_value("compat_test_counter")
    try:
        assert tomodachi.get_execution_context()["compat_test_counter"] == 2
    finally:
        del helper.get_execution_context()["compat_test_counter"]
    marker = object()
    helper.set_service("compat-test-service", marker)
    try:
        assert tomodachi.get_service("compat-test-service") is marker
        assert marker in helper.get_services()
    finally:
        helper.unset_service("compat-test-service")
    assert helper.get_service("compat-test-service") is None


async def test_invoker_module() -> None:
    from tomodachi.invoker import Invoker, decorator

    assert decorator is tomodachi.decorator

    @decorator
    async def deny(*args: object) -> tuple[int, str]:
        return 403, "forbidden"

    async def plain() -> str:
        return "ok"

    handler = deny(plain)

    assert await handler() == (403, "forbidden")
    with pytest.raises(NotImplementedError, match="not supported"):
        Invoker.decorator(handler)


def test_awssnssqs_is_the_aws_sns_sqs_module_and_its_legacy_publish_a_bound_method() -> None:
    import types

    import tomodachi
    import tomodachi.transport.awssnssqs as legacy
    from tomodachi.transport import aws_sns_sqs

    assert legacy is aws_sns_sqs is tomodachi.transport.awssnssqs
    assert tomodachi.awssnssqs_publish is aws_sns_sqs.awssnssqs_publish is legacy.awssnssqs_publish
    assert isinstance(tomodachi.awssnssqs_publish, types.MethodType)
    assert aws_sns_sqs.publish is tomodachi.aws_sns_sqs_publish


def test_the_http_decorators_stay_functions_once_every_http_module_is_loaded() -> None:
    """A submodule named like a public name would replace it on the package when the transport loads it."""
    import pkgutil
    from types import ModuleType

    import tomodachi.transport.http as http_package

    for module in pkgutil.iter_modules(http_package.__path__):
        importlib.import_module(f"{http_package.__name__}.{module.name}")
    shadowed = [name for name in http_package.__all__ if isinstance(getattr(http_package, name), ModuleType)]
    assert shadowed == []
    from tomodachi.transport.http import websocket

    assert callable(websocket)
