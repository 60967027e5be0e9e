"""``tomodachi.HttpResponse`` and ``tomodachi.HttpException``: plain classes, so importing them never loads aiohttp."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


class HttpResponse:
    """A response a handler may return; turned into an aiohttp response with the service's defaults.

    ``body`` is ``str`` (encoded with ``charset``) or ``bytes``. The option defaults for content type and charset
    apply only when none of ``content_type``, ``charset`` or a ``Content-Type`` header was given; a charset inside
    a ``Content-Type`` header is honoured.
    """

    def __init__(
        self,
        *,
        body: str | bytes | None = None,
        status: int = 200,
        reason: str | None = None,
        headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
        content_type: str | None = None,
        charset: str | None = None,
    ) -> None:
        self.body = body
        self.status = int(status)
        self.reason = reason
        self.headers: dict[str, str] = dict(headers.items() if isinstance(headers, Mapping) else headers or ())
        self.content_type = content_type
        self.charset = charset

    def __repr__(self) -> str:
        return f"HttpResponse(status={self.status}, content_type={self.content_type!r})"


Response = HttpResponse


class HttpException(Exception):
    """Errors of the HTTP transport itself (e.g. the server cannot bind); raised in a handler it means a 500."""

    def __init__(self, *args: Any, log_level: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args)
        self._log_level = log_level or "INFO"
