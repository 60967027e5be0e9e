"""Handler specs that invoker decorators attach to functions, and signature helpers for injection."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ParamSpec, Protocol, TypeVar, overload

HANDLER_SPECS_ATTRIBUTE = "_tomodachi_handler_specs"
HANDLER_TARGET_ATTRIBUTE = "_tomodachi_handler_target"
# the function an invoker decorator was applied to; ``functools.wraps`` copies it onto a user's wrapper above it
HANDLER_DECLARED_ATTRIBUTE = "_tomodachi_handler_declared"

F = TypeVar("F", bound=Callable[..., Any])
R = TypeVar("R")
P = ParamSpec("P")


@dataclass(frozen=True)
class HandlerSpec:
    """What one invoker decorator asked for.

    ``transport`` selects the transport that serves the handler (``http``, ``amqp``, ``aws_sns_sqs``,
    ``schedule``); ``kind`` distinguishes decorators within one transport (``http_error``, ``websocket`` ...);
    ``args`` holds the decorator's arguments, already validated by the decorator.
    """

    transport: str
    kind: str
    args: Mapping[str, Any] = field(default_factory=dict)


def attach_spec(func: F, spec: HandlerSpec) -> F:
    """Record ``spec`` on ``func`` and return ``func`` itself, so a decorated method stays directly callable.

    A decorated ``functools.wraps`` wrapper of an already decorated handler — a user's decorator that applies an
    invoker decorator to its wrapper, stacked twice on one method — is served by that inner handler: the outer
    wrapper would call it with the arguments it adapted, not with what a delivery brings (upstream did the same).
    """
    existing: tuple[HandlerSpec, ...] = getattr(func, HANDLER_SPECS_ATTRIBUTE, ())
    wrapped = getattr(func, "__wrapped__", None)
    if specs_of(wrapped):
        setattr(func, HANDLER_TARGET_ATTRIBUTE, getattr(wrapped, HANDLER_TARGET_ATTRIBUTE, wrapped))
    setattr(func, HANDLER_SPECS_ATTRIBUTE, (*existing, spec))
    setattr(func, HANDLER_DECLARED_ATTRIBUTE, func)
    return func


def handler_method(instance: object, attr_name: str) -> Callable[..., Any]:
    """What the handlers found on ``attr_name`` call: the bound method, or the inner handler serving a stacked
    wrapper (see :func:`attach_spec`), bound to ``instance``."""
    method: Callable[..., Any] = getattr(instance, attr_name)
    target = getattr(method, HANDLER_TARGET_ATTRIBUTE, None)
    if target is None or not hasattr(target, "__get__"):
        return method
    bound: Callable[..., Any] = target.__get__(instance, type(instance))
    return bound


def specs_of(func: object) -> tuple[HandlerSpec, ...]:
    specs = getattr(func, HANDLER_SPECS_ATTRIBUTE, ())
    return specs if isinstance(specs, tuple) else ()


class HandlerDecorator(Protocol):
    """What an invoker decorator returns: applied to a handler, it returns the very same function."""

    def __call__(self, func: F) -> F: ...


def invoker(
    transport: str, kind: str | None = None
) -> Callable[[Callable[P, Mapping[str, object]]], Callable[P, HandlerDecorator]]:
    """Build an invoker decorator from a function that validates decorator arguments into a spec ``args`` dict.

    ``make_args`` raises on bad arguments, so a mistake is reported at class definition, naming the decorator.
    """

    def build(make_args: Callable[P, Mapping[str, object]]) -> Callable[P, HandlerDecorator]:
        checked = suggest_on_typo(make_args)

        @functools.wraps(make_args)
        def decorator_factory(*args: P.args, **kwargs: P.kwargs) -> HandlerDecorator:
            spec = HandlerSpec(transport=transport, kind=kind or transport, args=checked(*args, **kwargs))

            def decorate(func: F) -> F:
                return attach_spec(func, spec)

            return decorate

        return decorator_factory

    return build


def _signature(func: Callable[..., object]) -> inspect.Signature:
    """The signature a call must fit: that of the function the invoker decorator was applied to, as upstream
    injects. A user's wrapper the decorator was applied to keeps its own signature (it may take other arguments
    than the function it wraps); a plain ``functools.wraps`` decorator added above the invoker decorators (often
    ``*args, **kwargs``) is called with the arguments of the handler it wraps."""
    declared = getattr(func, HANDLER_DECLARED_ATTRIBUTE, None)
    if declared is not None and declared is not func and callable(declared):
        return inspect.signature(declared, follow_wrapped=False)
    return inspect.signature(func, follow_wrapped=False)


def suggest_on_typo(func: Callable[P, R]) -> Callable[P, R]:
    """``func`` (a decorator taking options), with the closest parameter name added to the TypeError a mistyped
    keyword raises: ``http() got an unexpected keyword argument 'ignore_loging' (did you mean 'ignore_logging'?)``."""

    @functools.wraps(func)
    def checked(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except TypeError as exc:
            hint = _closest_parameter(func, exc)
            if not hint:
                raise
            raise TypeError(f"{exc}{hint}") from None

    return checked


def _closest_parameter(make_args: Callable[..., object], error: TypeError) -> str:
    """`` (did you mean 'x'?)`` when ``error`` is about an unexpected keyword close to one the decorator takes."""
    import re

    unexpected = re.search(r"unexpected keyword argument '([^']+)'", str(error))
    if unexpected is None:
        return ""
    from tomodachi.settings_check import did_you_mean

    return did_you_mean(unexpected.group(1), inspect.signature(make_args).parameters)


@functools.lru_cache(maxsize=4096)
def _parameters(func: Callable[..., object]) -> tuple[inspect.Parameter, ...]:
    return tuple(_signature(func).parameters.values())


_BINDABLE = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


def handler_parameters(func: Callable[..., object]) -> tuple[inspect.Parameter, ...]:
    """Parameters of a (bound) handler, ``self`` excluded; cached per function.

    A bound method is looked up by its class function, never by itself: a cache entry holding the bound method
    would keep its service instance (and, through it, a whole test's system) alive."""
    if inspect.ismethod(func):
        try:
            params = _parameters(func.__func__)
        except TypeError:
            return tuple(_signature(func).parameters.values())
        return params[1:] if params and params[0].kind in _BINDABLE else params
    try:
        return _parameters(func)
    except TypeError:  # unhashable callable objects
        return tuple(_signature(func).parameters.values())


def accepts_var_keyword(func: Callable[..., object]) -> bool:
    return any(p.kind is inspect.Parameter.VAR_KEYWORD for p in handler_parameters(func))


def source_line(func: Callable[..., object]) -> int:
    """Definition line of a handler (unwrapping decorators), used to order routes and handlers."""
    target = inspect.unwrap(func)
    code = getattr(target, "__code__", None)
    return code.co_firstlineno if code is not None else 0


@overload
def decorator(include_function: Callable[..., object]) -> HandlerDecorator: ...


@overload
def decorator(include_function: bool = False) -> Callable[[Callable[..., object]], HandlerDecorator]: ...


def decorator(
    include_function: bool | Callable[..., object] = False,
) -> HandlerDecorator | Callable[[Callable[..., object]], HandlerDecorator]:
    """Turn ``fn`` into a handler wrapper placed under an invoker decorator (``@tomodachi.decorator``).

    ``fn`` receives the handler's arguments (preceded by the handler itself with ``include_function=True``).
    Returning ``None`` or ``True`` runs the handler and returns its result; any other value is returned
    instead of calling the handler (e.g. ``(403, "forbidden")``). Usable bare or called.
    """
    if callable(include_function):
        return decorator(False)(include_function)

    def make(fn: Callable[..., object]) -> HandlerDecorator:
        def wrap(func: F) -> F:
            @functools.wraps(func)
            async def wrapper(*args: Any, **kwargs: Any) -> object:
                outcome = fn(func, *args, **kwargs) if include_function else fn(*args, **kwargs)
                if inspect.isawaitable(outcome):
                    outcome = await outcome
                if outcome is None or outcome is True:
                    result = func(*args, **kwargs)
                    return await result if inspect.isawaitable(result) else result
                return outcome

            # arguments are injected by the signature of what is called: the wrapper takes the handler's
            wrapper.__signature__ = inspect.signature(func, follow_wrapped=False)  # type: ignore[attr-defined]
            return wrapper  # type: ignore[return-value]

        return wrap

    return make
