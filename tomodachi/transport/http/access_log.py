"""Access log: one record per request to ``tomodachi.http.response``, and optionally JSON lines to a file."""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import re
from typing import Any

from aiohttp import web

from tomodachi.logging import framework_logger as get_logger  # no structlog import on the start path
from tomodachi.runtime.clock import Clock


def _auth_user(request: web.BaseRequest) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "basic" or not token:
        return None
    try:
        login = base64.b64decode(token.strip(), validate=True).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return None
    return login.partition(":")[0] or None


# query parameters whose values are credentials often enough that the access log never shows them
_SECRET_PARAMETER = re.compile(r"token|passw|pwd|secret|key|auth|sig|session|credential|^code$|^jwt$", re.IGNORECASE)
HIDDEN_VALUE = "[hidden]"


def redacted_query_string(query_string: str) -> str:
    """The query string as logged: the value of every parameter that looks like a credential is hidden."""
    if not query_string:
        return query_string
    parts = query_string.split("&")
    for index, part in enumerate(parts):
        name, separator, value = part.partition("=")
        if separator and value and _SECRET_PARAMETER.search(name):
            parts[index] = f"{name}={HIDDEN_VALUE}"
    return "&".join(parts)


def _private_file_handler(path: str) -> logging.Handler:
    """A handler that creates the access log (also when re-created after rotation) readable by its owner only."""
    from logging.handlers import WatchedFileHandler  # only imported when an access log file is configured

    class PrivateFileHandler(WatchedFileHandler):
        def _open(self) -> Any:
            descriptor = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            return open(descriptor, self.mode, encoding=self.encoding, errors=self.errors)

    return PrivateFileHandler(path, encoding="utf-8")


def should_log(ignore_logging: bool | frozenset[int], status: int) -> bool:
    """``ignore_logging=True`` hides the route's lines, except server errors (5xx) which are always logged."""
    if ignore_logging is True:
        return status >= 500
    if isinstance(ignore_logging, frozenset):
        return status not in ignore_logging
    return True


class _JsonLinesFormatter(logging.Formatter):
    """The access entry a record carries as its message, as one JSON object."""

    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(record.msg if isinstance(record.msg, dict) else {}, default=str)


class AccessLog:
    """Writes access records; ``target`` is the ``http.access_log`` option (True, False or a file path)."""

    def __init__(self, target: bool | str, clock: Clock) -> None:
        self.enabled = bool(target)
        self._logger = get_logger("tomodachi.http.response")
        self._clock = clock
        self._file_logger: logging.Logger | None = None
        self._file_handler: logging.Handler | None = None
        if isinstance(target, str):
            # a private, non-propagating logger: the file gets exactly one JSON object per line
            self._file_logger = logging.getLogger(f"tomodachi.http.access_log.{id(self)}")
            self._file_logger.propagate = False
            self._file_logger.setLevel(logging.INFO)
            self._file_handler = _private_file_handler(target)
            self._file_handler.setFormatter(_JsonLinesFormatter())
            self._file_logger.addHandler(self._file_handler)

    def record(
        self,
        request: web.BaseRequest,
        *,
        status: int,
        remote_ip: str,
        response_length: int | None,
        handler_elapsed: float | None,
        request_time: float,
        replaced_status: int | None = None,
    ) -> dict[str, object]:
        fields: dict[str, object] = {
            "status_code": status,
            "remote_ip": remote_ip,
            "auth_user": _auth_user(request),
            "request_method": request.method,
            "request_path": request.path,
            "request_query_string": redacted_query_string(request.query_string),
            "http_version": f"HTTP/{request.version.major}.{request.version.minor}",
            "response_content_length": response_length,
            "request_content_length": request.content_length,
            "user_agent": request.headers.get("User-Agent"),
            "handler_elapsed_time": f"{handler_elapsed:.5f}s" if handler_elapsed is not None else None,
            "request_time": f"{request_time:.5f}s",
        }
        if replaced_status is not None:
            fields["replaced_status_code"] = replaced_status
        return fields

    def write(self, fields: dict[str, object], level: int = logging.INFO) -> None:
        if not self.enabled:
            return
        if self._file_logger is not None:  # before the line below, which takes the dict over
            entry = {"timestamp": self._clock.now().isoformat().replace("+00:00", "Z"), **fields}
            self._file_logger.info(entry)
        self._logger.fields_line(logging.WARNING if level >= logging.WARNING else logging.INFO, fields)

    def close(self) -> None:
        if self._file_logger is not None and self._file_handler is not None:
            self._file_logger.removeHandler(self._file_handler)
            self._file_handler.close()
            self._file_handler = None
