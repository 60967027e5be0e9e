"""HTTP decorators (``@http``, ``@http_error``, ``@http_static``, ``@websocket``) and request helpers.

Imported at class-definition time, so nothing here imports aiohttp: decorators only validate and attach a spec.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, SupportsIndex, SupportsInt, TypeVar

from tomodachi.handlers import HandlerSpec, attach_spec, suggest_on_typo
from tomodachi.transport.http.response import HttpException, HttpResponse, Response
from tomodachi.transport.http.routing import RouteError, compile_pattern

if TYPE_CHECKING:  # decorators are imported at class definition: aiohttp is not
    from aiohttp import web

    from tomodachi.transport.http.settings import HttpSettings

__all__ = [
    "HttpException",
    "HttpResponse",
    "Response",
    "get_forwarded_remote_ip",
    "get_http_response_status",
    "get_http_response_status_sync",
    "http",
    "http_error",
    "http_static",
    "websocket",
    "ws",
]

F = TypeVar("F", bound=Callable[..., Any])


def _owner(decorator: str, func: object) -> str:
    return f"@tomodachi.{decorator} on {getattr(func, '__qualname__', repr(func))}"


def _ignore_logging(value: object, owner: str) -> bool | frozenset[int]:
    if isinstance(value, bool):
        return value
    if isinstance(value, list | tuple | set | frozenset) and all(
        isinstance(code, int) and not isinstance(code, bool) for code in value
    ):
        return frozenset(value)
    raise RouteError(f"{owner}: ignore_logging must be a bool or a list of status codes, got {value!r}")


def _methods(method: object, owner: str) -> tuple[str, ...]:
    items = [method] if isinstance(method, str) else method
    if not isinstance(items, list | tuple) or not items or not all(isinstance(m, str) and m.strip() for m in items):
        raise RouteError(f"{owner}: method must be a non-empty string or a list of strings, got {method!r}")
    return tuple(dict.fromkeys(m.strip().upper() for m in items))


@suggest_on_typo
def http(
    method: str | Sequence[str],
    url: str,
    *,
    ignore_logging: bool | Sequence[int] = False,
    pre_handler_func: Callable[..., object] | None = None,
) -> Callable[[F], F]:
    """Serve ``method`` requests whose path fully matches the regex ``url``; named groups become arguments."""

    def decorate(func: F) -> F:
        owner = _owner("http", func)
        compile_pattern(url, owner)
        if pre_handler_func is not None and not callable(pre_handler_func):
            raise RouteError(f"{owner}: pre_handler_func must be callable")
        args = {
            "methods": _methods(method, owner),
            "url": url,
            "ignore_logging": _ignore_logging(ignore_logging, owner),
            "pre_handler_func": pre_handler_func,
        }
        return attach_spec(func, HandlerSpec("http", "http", args))

    return decorate


@suggest_on_typo
def http_error(status_code: int) -> Callable[[F], F]:
    """Handle responses of ``status_code`` raised by handlers or the router (404, 405, 500 ...)."""

    def decorate(func: F) -> F:
        if isinstance(status_code, bool) or not isinstance(status_code, int) or not 400 <= status_code <= 599:
            raise RouteError(f"{_owner('http_error', func)}: status_code must be an int 400..599, got {status_code!r}")
        return attach_spec(func, HandlerSpec("http", "http_error", {"status_code": status_code}))

    return decorate


@suggest_on_typo
def http_static(path: str, base_url: str, *, ignore_logging: bool | Sequence[int] = False) -> Callable[[F], F]:
    """Serve files below the folder ``path`` (relative to the service file) at urls matching ``base_url``."""

    def decorate(func: F) -> F:
        owner = _owner("http_static", func)
        if not isinstance(path, str) or not path:
            raise RouteError(f"{owner}: path must be a non-empty string")
        url = base_url if "(?P<filename>" in base_url else f"{base_url.rstrip('$')}(?P<filename>.+?)$"
        compile_pattern(url, owner)
        args = {"methods": ("GET",), "url": url, "path": path, "ignore_logging": _ignore_logging(ignore_logging, owner)}
        return attach_spec(func, HandlerSpec("http", "http_static", args))

    return decorate


@suggest_on_typo
def websocket(url: str) -> Callable[[F], F]:
    """Accept websocket connections on ``url``; the handler returns ``receive`` or ``(receive, close)``."""

    def decorate(func: F) -> F:
        owner = _owner("websocket", func)
        compile_pattern(url, owner)
        return attach_spec(func, HandlerSpec("http", "websocket", {"methods": ("GET",), "url": url}))

    return decorate


ws = websocket


def _client_gone(request: object) -> bool:
    transport = getattr(request, "transport", None)
    return transport is None or bool(transport.is_closing())


def get_http_response_status_sync(value: object, request: object = None, verify_transport: bool = True) -> int:
    """The status code a handler's return value (or raised exception) turns into; 499 if the client is gone."""
    if request is not None and verify_transport and _client_gone(request):
        return 499
    if isinstance(value, BaseException):
        status = getattr(value, "status", None)
        return status if isinstance(status, int) and not isinstance(status, bool) else 500
    if value is None or isinstance(value, str | bytes):
        return 200
    if isinstance(value, dict):
        value = value.get("status", 200)
    elif isinstance(value, tuple | list):
        value = value[0] if value else 500
    else:
        value = getattr(value, "status", 500)
    if isinstance(value, bytes):
        value = value.decode()
    if not isinstance(value, str | bytearray | SupportsInt | SupportsIndex):
        return 500
    try:
        return int(value)
    except (TypeError, ValueError):
        return 500


async def get_http_response_status(value: object, request: object = None, verify_transport: bool = True) -> int:
    return get_http_response_status_sync(value, request=request, verify_transport=verify_transport)


def _settings_key() -> web.AppKey[HttpSettings]:
    """The application key of the HTTP settings, imported on the first request (aiohttp is loaded by then) rather
    than when a service module imports the decorators."""
    global _SETTINGS_KEY
    if _SETTINGS_KEY is None:
        from tomodachi.transport.http.keys import SETTINGS

        _SETTINGS_KEY = SETTINGS
    return _SETTINGS_KEY


_SETTINGS_KEY: web.AppKey[HttpSettings] | None = None


def get_forwarded_remote_ip(request: web.BaseRequest, settings: HttpSettings | None = None) -> str:
    """The client's address: the peer, or — when the peer is a trusted proxy (``real_ip_from``) — the rightmost
    ``real_ip_header`` entry that is not itself a trusted proxy. ``settings`` are the service's HTTP settings,
    looked up through the request's application when not given."""
    remote: str = request.remote or ""
    if settings is None:
        app = getattr(request, "app", None)
        settings = app.get(_settings_key()) if app is not None else None
    if settings is None or not settings.real_ip_from or not remote:
        return remote
    try:
        peer = ipaddress.ip_address(remote)
    except ValueError:
        return remote
    if not any(peer in network for network in settings.real_ip_from):
        return remote
    # proxies append the address they received from: read from the right, past our own trusted proxies, and take
    # the first address a trusted proxy vouches for (the leftmost entries are whatever the client wrote)
    client = remote
    for entry in reversed(request.headers.get(settings.real_ip_header, "").split(",")):
        try:
            address = ipaddress.ip_address(entry.strip())
        except ValueError:
            return client
        client = str(address)
        if not any(address in network for network in settings.real_ip_from):
            return client
    return client


class RequestHandler:
    """Upstream's name for its aiohttp request handler; services use its ``get_request_ip``, kept here."""

    @staticmethod
    def get_request_ip(request: web.BaseRequest, context: object = None) -> str | None:
        """The client's address as :func:`get_forwarded_remote_ip` finds it (``None`` when unknown)."""
        return get_forwarded_remote_ip(request) or None
