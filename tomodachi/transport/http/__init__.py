"""HTTP and websocket transport on aiohttp; the public names here never import aiohttp themselves."""

from tomodachi.transport.http.api import (
    HttpException,
    HttpResponse,
    RequestHandler,
    Response,
    get_forwarded_remote_ip,
    get_http_response_status,
    get_http_response_status_sync,
    http,
    http_error,
    http_static,
    websocket,
    ws,
)

__all__ = [
    "HttpException",
    "HttpResponse",
    "RequestHandler",
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
