"""The Service class: name, uuid, options conversion, message_protocol alias, what counts as a service."""

from __future__ import annotations

import uuid
import warnings
from pathlib import Path
from typing import Any

import pytest

import tomodachi
from tomodachi.handlers import invoker
from tomodachi.runtime.importer import load_services
from tomodachi.service import discover_handlers, is_runnable_service_class


@invoker("recording")
def recording(topic: str = "default", **kwargs: Any) -> dict[str, Any]:
    return {"topic": topic, **kwargs}


def test_name_defaults_to_service() -> None:
    class Unnamed(tomodachi.Service):
        pass

    class Named(tomodachi.Service):
        name = "orders"

    class EmptyName(tomodachi.Service):
        name = ""

    assert Unnamed.name == "service"
    assert Named.name == "orders"
    assert EmptyName.name == "service"


def test_uuid_is_generated_once_per_class() -> None:
    class First(tomodachi.Service):
        pass

    class Second(tomodachi.Service):
        pass

    class Fixed(tomodachi.Service):
        uuid = "fixed-uuid"

    assert str(uuid.UUID(First.uuid)) == First.uuid
    assert First.uuid != Second.uuid
    assert First().uuid == First.uuid == First().uuid  # stable across instances
    assert Fixed.uuid == "fixed-uuid"


def test_subclass_gets_its_own_uuid() -> None:
    class Base(tomodachi.Service):
        pass

    class Child(Base):
        pass

    assert Child.uuid and Child.uuid != Base.uuid


def test_options_default_to_an_options_instance() -> None:
    class Plain(tomodachi.Service):
        pass

    assert isinstance(Plain.options, tomodachi.Options)


def test_options_instance_is_kept() -> None:
    options = tomodachi.Options(http={"port": 1234})

    class WithOptions(tomodachi.Service):
        pass

    WithOptions.options = options
    assert WithOptions.options is options
    assert WithOptions.options.http.port == 1234


def test_options_dict_warns_and_converts() -> None:
    with pytest.warns(DeprecationWarning, match="options"):

        class DictOptions(tomodachi.Service):
            options = {"http": {"port": 4711}}

    assert isinstance(DictOptions.options, tomodachi.Options)
    assert DictOptions.options.http.port == 4711


def test_options_dict_assigned_on_instance_warns_and_converts() -> None:
    class Plain(tomodachi.Service):
        pass

    instance = Plain()
    with pytest.warns(DeprecationWarning):
        instance.options = {"http": {"port": 8080}}
    assert isinstance(instance.options, tomodachi.Options)
    assert instance.options.http.port == 8080


@pytest.mark.parametrize("bad", ["http.port=80", 42, ["http"]])
def test_options_of_another_type_raise_value_error(bad: Any) -> None:
    with pytest.raises(ValueError, match="Invalid value for 'options' attribute"):

        class BadOptions(tomodachi.Service):
            options = bad

    class Plain(tomodachi.Service):
        pass

    with pytest.raises(ValueError, match="Invalid value for 'options' attribute"):
        Plain().options = bad


def test_message_protocol_is_an_alias_of_message_envelope() -> None:
    sentinel = object()

    class OldStyle(tomodachi.Service):
        message_protocol = sentinel

    assert OldStyle.message_envelope is sentinel

    instance = OldStyle()
    other = object()
    instance.message_protocol = other
    assert instance.message_envelope is other


def test_message_envelope_wins_over_message_protocol() -> None:
    envelope, protocol = object(), object()

    class Both(tomodachi.Service):
        message_envelope = envelope
        message_protocol = protocol

    assert Both.message_envelope is envelope


def test_class_without_handlers_or_start_hooks_is_not_a_service() -> None:
    class Nothing(tomodachi.Service):
        def helper(self) -> None:
            pass

        async def _stop_service(self) -> None:  # a stop hook alone does not make a service
            pass

    assert not is_runnable_service_class(Nothing)


@pytest.mark.parametrize("hook", ["_start_service", "_started_service"])
def test_lifecycle_only_service_is_valid(hook: str) -> None:
    async def noop(self: Any) -> None:
        pass

    lifecycle_only = type(tomodachi.Service)("LifecycleOnly", (tomodachi.Service,), {hook: noop})
    assert is_runnable_service_class(lifecycle_only)


def test_class_with_a_decorated_handler_is_a_service() -> None:
    class WithHandler(tomodachi.Service):
        @recording("a")
        async def on_a(self) -> None:
            pass

    assert is_runnable_service_class(WithHandler)
    assert [(name, spec.args["topic"]) for name, spec in discover_handlers(WithHandler)] == [("on_a", "a")]


def test_class_used_as_base_is_not_run() -> None:
    class Base(tomodachi.Service):
        @recording("a")
        async def on_a(self) -> None:
            pass

    assert is_runnable_service_class(Base)

    class Concrete(Base):
        name = "concrete"

    assert not is_runnable_service_class(Base)
    assert is_runnable_service_class(Concrete)
    assert [name for name, _ in discover_handlers(Concrete)] == ["on_a"]


def test_tomodachi_service_base_itself_is_not_a_service() -> None:
    assert not is_runnable_service_class(tomodachi.Service)


def test_decorated_method_stays_directly_callable() -> None:
    class Callable_(tomodachi.Service):
        @recording("a")
        def on_a(self, value: int) -> int:
            return value * 2

    assert Callable_().on_a(21) == 42


def test_overriding_a_handler_without_decorator_removes_it() -> None:
    class Base(tomodachi.Service):
        @recording("a")
        async def on_a(self) -> None:
            pass

        @recording("b")
        async def on_b(self) -> None:
            pass

    class Child(Base):
        async def on_a(self) -> None:  # plain override: no longer a handler
            pass

    assert [name for name, _ in discover_handlers(Child)] == ["on_b"]


def test_handlers_are_ordered_by_source_line() -> None:
    class Ordered(tomodachi.Service):
        @recording("z")
        async def zeta(self) -> None:
            pass

        @recording("a")
        async def alpha(self) -> None:
            pass

    assert [name for name, _ in discover_handlers(Ordered)] == ["zeta", "alpha"]


def test_only_classes_defined_in_the_service_file_run(tmp_path: Path) -> None:
    (tmp_path / "shared_base_mod.py").write_text(
        "import tomodachi\n"
        "class Imported(tomodachi.Service):\n"
        "    name = 'imported'\n"
        "    async def _start_service(self):\n"
        "        pass\n"
    )
    service_file = tmp_path / "local_service_mod.py"
    service_file.write_text(
        "import tomodachi\n"
        "from shared_base_mod import Imported\n"
        "class Second(tomodachi.Service):\n"
        "    name = 'second'\n"
        "    async def _started_service(self):\n"
        "        pass\n"
        "class First(tomodachi.Service):\n"
        "    name = 'first'\n"
        "    async def _start_service(self):\n"
        "        pass\n"
    )
    path, classes = load_services(service_file)
    assert path == service_file.resolve()
    assert [cls.name for cls in classes] == ["second", "first"]  # source order, imported class left out


def test_service_classes_in_skips_bases_defined_in_the_same_file(tmp_path: Path) -> None:
    service_file = tmp_path / "base_and_child_mod.py"
    service_file.write_text(
        "import tomodachi\n"
        "class Base(tomodachi.Service):\n"
        "    async def _start_service(self):\n"
        "        pass\n"
        "class Child(Base):\n"
        "    name = 'child'\n"
    )
    _, classes = load_services(service_file)
    assert [cls.name for cls in classes] == ["child"]


def test_deprecated_service_class_decorator() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)

        @tomodachi.service
        class Legacy:
            name = "legacy"

            async def _start_service(self) -> None:
                pass

    assert isinstance(Legacy, tomodachi.TomodachiServiceMeta)
    assert Legacy.name == "legacy"
    assert is_runnable_service_class(Legacy)
