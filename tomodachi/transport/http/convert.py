"""Turns what a handler returned (str, bytes, None, dict, tuple, HttpResponse, aiohttp response) into a response."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import SupportsIndex, SupportsInt

from aiohttp import web
from multidict import CIMultiDict

from tomodachi.transport.http.response import HttpResponse
from tomodachi.transport.http.settings import HttpSettings, split_content_type


class UnsupportedReturnValue(TypeError):
    """The handler returned something that is not a response (e.g. an ``int``) → 500."""


def _status(value: object) -> int:
    if isinstance(value, bool):
        raise UnsupportedReturnValue(f"invalid response status {value!r}")
    try:
        given = value.decode() if isinstance(value, bytes) else value
        if not isinstance(given, int | str | bytearray | SupportsInt | SupportsIndex):
            raise TypeError(given)
        status = int(given)
    except (TypeError, ValueError, UnicodeDecodeError):
        raise UnsupportedReturnValue(f"invalid response status {value!r}") from None
    if not 100 <= status <= 999:
        raise UnsupportedReturnValue(f"invalid response status {value!r}")
    return status


def _headers(value: object) -> CIMultiDict[str]:
    if value is None:
        return CIMultiDict()
    pairs = value.items() if isinstance(value, Mapping) else value
    try:
        if not isinstance(pairs, Iterable):
            raise TypeError(pairs)
        return CIMultiDict((str(k), str(v)) for k, v in pairs)
    except (TypeError, ValueError):
        raise UnsupportedReturnValue(f"invalid response headers {value!r}") from None


def build(
    settings: HttpSettings,
    *,
    body: object,
    status: object = 200,
    headers: object = None,
    content_type: str | None = None,
    charset: str | None = None,
    reason: str | None = None,
) -> web.Response:
    """One response; option defaults fill in content type / charset only where nothing was specified."""
    header_map = _headers(headers)
    declared = header_map.get("Content-Type")
    if declared is not None:
        media_type, charset = split_content_type(declared, charset or settings.charset)
    else:
        if isinstance(body, dict | list) and content_type is None:
            content_type = "application/json"
        media_type = content_type or settings.content_type
        if content_type is not None and ";" in content_type:
            media_type, charset = split_content_type(content_type, charset or settings.charset)
        charset = charset or settings.charset
        header_map["Content-Type"] = f"{media_type}; charset={charset}"
    if body is None:
        payload = b""
    elif isinstance(body, bytes | bytearray | memoryview):
        payload = bytes(body)
    elif isinstance(body, str):
        payload = body.encode(charset)
    elif isinstance(body, dict | list):
        payload = json.dumps(body).encode(charset)
    else:
        raise UnsupportedReturnValue(f"invalid response body of type {type(body).__name__}")
    return web.Response(body=payload, status=_status(status), reason=reason, headers=header_map)


def to_response(value: object, settings: HttpSettings, default_status: int = 200) -> web.StreamResponse:
    """The response for a handler's return value; ``default_status`` is the handled status for error handlers."""
    if type(value) is str and default_status == 200:  # the most common return: what build() makes of it, directly
        return web.Response(
            body=value.encode(settings.charset), headers={"Content-Type": settings.default_content_type}
        )
    if type(value) is web.Response or isinstance(value, web.StreamResponse):  # exact type: no ABC check
        return value
    if isinstance(value, HttpResponse):
        return build(
            settings,
            body=value.body,
            status=value.status,
            headers=value.headers,
            content_type=value.content_type,
            charset=value.charset,
            reason=value.reason,
        )
    if value is None or isinstance(value, str | bytes):
        return build(settings, body=value, status=default_status)
    if isinstance(value, dict):
        return build(
            settings,
            body=value.get("body"),
            status=value.get("status", default_status),
            headers=value.get("headers"),
            content_type=value.get("content_type"),
            charset=value.get("charset"),
        )
    if isinstance(value, tuple | list) and len(value) in (2, 3):
        return build(settings, body=value[1], status=value[0], headers=value[2] if len(value) == 3 else None)
    raise UnsupportedReturnValue(f"handler returned an unsupported value of type {type(value).__name__}")
