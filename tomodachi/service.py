"""The Service base class, its metaclass, and discovery of handler methods on a service class."""

from __future__ import annotations

import inspect
import sys
import types
import uuid as uuid_module
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from tomodachi import CLASS_ATTRIBUTE
from tomodachi.handlers import HandlerSpec, source_line, specs_of

if TYPE_CHECKING:
    from tomodachi.logging import Logger
    from tomodachi.options import Options

TOMODACHI_CLASSES: list[type[Any]] = []

LIFECYCLE_HOOKS = ("_start_service", "_started_service", "_stopping_service", "_stop_service")


def _convert_options(value: object) -> Options:
    from tomodachi.options import Options

    if value is None:
        return Options()
    if isinstance(value, Options):
        return value
    if isinstance(value, dict):
        warnings.warn(
            "Using a dict as 'options' is deprecated; use tomodachi.Options(...) instead",
            DeprecationWarning,
            stacklevel=3,
        )
        return Options(**value)
    raise ValueError("Invalid value for 'options' attribute")


class TomodachiServiceMeta(type):
    """Fills in ``name``, ``uuid`` and ``options`` at class creation and marks the class as runnable."""

    def __new__(mcs, name: str, bases: tuple[type, ...], namespace: dict[str, object], **kwargs: object) -> type:
        if "message_protocol" in namespace and "message_envelope" not in namespace:
            namespace["message_envelope"] = namespace["message_protocol"]
        cls = super().__new__(mcs, name, bases, namespace, **kwargs)
        if namespace.get("_tomodachi_abstract_base"):
            return cls
        # a class used as a base is not itself run as a service
        for base in bases:
            if base.__dict__.get(CLASS_ATTRIBUTE):
                type.__setattr__(base, CLASS_ATTRIBUTE, False)
        type.__setattr__(cls, CLASS_ATTRIBUTE, True)
        if not getattr(cls, "name", None):
            type.__setattr__(cls, "name", "service")
        if not namespace.get("uuid"):
            type.__setattr__(cls, "uuid", str(uuid_module.uuid4()))
        if "options" in namespace or getattr(cls, "options", None) is None:
            type.__setattr__(cls, "options", _convert_options(getattr(cls, "options", None)))
        TOMODACHI_CLASSES.append(cls)
        return cls

    def __setattr__(cls, key: str, value: object) -> None:
        if key == "options":
            value = _convert_options(value)
        super().__setattr__(key, value)


class Service(metaclass=TomodachiServiceMeta):
    """Base class of tomodachi services. Subclass it and decorate methods with invoker decorators."""

    _tomodachi_abstract_base: ClassVar[bool] = True

    name: str = "service"
    uuid: str = ""
    options: Any = None
    log_level: str = "INFO"
    message_envelope: Any = None
    http_middleware: list[Callable[..., Any]] = []
    message_middleware: list[Callable[..., Any]] = []
    discovery: list[Any] = []
    context: dict[str, Any]

    def __setattr__(self, key: str, value: object) -> None:
        if key == "options":
            value = _convert_options(value)
        elif key == "message_protocol":
            object.__setattr__(self, "message_envelope", value)
        object.__setattr__(self, key, value)

    @property
    def logger(self) -> Logger:
        from tomodachi.logging import get_logger

        return get_logger(f"tomodachi.service.{self.name}")

    def log(self, *args: object, **kwargs: Any) -> None:
        warnings.warn("self.log() is deprecated; use self.logger or tomodachi.get_logger()", DeprecationWarning, 2)
        from tomodachi.logging.service_log import log_for_service

        log_for_service(f"tomodachi.service.{self.name}", *args, **kwargs)

    def log_setup(self, *args: object, **kwargs: object) -> None:
        warnings.warn("self.log_setup() is deprecated and does nothing", DeprecationWarning, 2)


def service(cls: type) -> type:
    """Deprecated class decorator turning a plain class into a service class."""
    warnings.warn("@tomodachi.service is deprecated; subclass tomodachi.Service", DeprecationWarning, 2)
    if isinstance(cls, TomodachiServiceMeta):
        return cls
    return TomodachiServiceMeta(cls.__name__, (cls, Service), {"__module__": cls.__module__})


def discover_handlers(cls: type) -> list[tuple[str, HandlerSpec]]:
    """Every (method name, spec) on a service class, ordered by the method's source line."""
    found: dict[str, tuple[int, list[HandlerSpec]]] = {}
    for klass in reversed(cls.__mro__):
        if klass is Service or klass is object:  # hold no handlers, and most of the attributes (asked on every start)
            continue
        for attr_name, value in vars(klass).items():
            func = value.__func__ if isinstance(value, (staticmethod, classmethod)) else value
            specs = specs_of(func)
            if specs:
                found[attr_name] = (source_line(func), list(specs))
            elif attr_name in found:
                del found[attr_name]  # overridden without a decorator
    ordered = sorted(found.items(), key=lambda item: item[1][0])
    return [(attr_name, spec) for attr_name, (_, specs) in ordered for spec in specs]


def defines_lifecycle_hook(cls: type) -> bool:
    return any(callable(getattr(cls, hook, None)) for hook in ("_start_service", "_started_service"))


def is_runnable_service_class(cls: object) -> bool:
    """A class is run as a service if it still carries the marker and has handlers or start hooks."""
    return (
        inspect.isclass(cls)
        and bool(cls.__dict__.get(CLASS_ATTRIBUTE))
        and (bool(discover_handlers(cls)) or defines_lifecycle_hook(cls))
    )


class _CallableModule(types.ModuleType):
    """Importing this module sets the ``tomodachi.service`` attribute to it, shadowing the deprecated
    ``@tomodachi.service`` class decorator; calling the module keeps that decorator working."""

    def __call__(self, cls: type) -> type:
        return service(cls)


sys.modules[__name__].__class__ = _CallableModule
