"""Example: HTTP middleware that authenticates a bearer token, a ``@tomodachi.decorator`` that authorizes a role
(401 without a known token, 403 without the role), and message middleware that passes the sender on to a handler.

Run with ``tomodachi run examples/middleware_auth_service.py`` (the AMQP handler needs RabbitMQ on localhost), then
``curl -X POST -H "Authorization: Bearer admin-token" http://localhost:9700/users/ada``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

import tomodachi
from tomodachi.envelope import JsonBase


@dataclass(frozen=True)
class Principal:
    user: str
    roles: frozenset[str]


# a real service would verify a signed token or ask an identity provider
TOKENS = {
    "reader-token": Principal("rita", frozenset({"reader"})),
    "admin-token": Principal("ada", frozenset({"reader", "admin"})),
}


async def authenticate(func: Callable[..., Awaitable[Any]], service: Any, request: web.Request) -> Any:
    """HTTP middleware: resolves ``Authorization: Bearer <token>`` and passes ``principal`` (or None) on by keyword.
    Keywords reach handlers that declare a parameter of that name."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    principal = TOKENS.get(token) if scheme.lower() == "bearer" else None
    return await func(principal=principal)


def require_role(role: str) -> Any:
    """A handler wrapper (placed under ``@tomodachi.http``): returning a response value short-circuits the handler."""

    @tomodachi.decorator
    async def check(*args: Any, principal: Principal | None = None, **kwargs: Any) -> Any:
        if principal is None:
            return 401, "missing or unknown bearer token"
        if role not in principal.roles:
            return 403, f"{principal.user} lacks the {role!r} role"
        return None  # None (or True) lets the handler run

    return check


async def sender_middleware(
    func: Callable[..., Awaitable[Any]], service: Any, message: dict[str, Any], routing_key: str
) -> Any:
    """Message middleware: the JsonBase envelope names the publishing service; hand it to the handler."""
    return await func(sender=message["service"]["name"])


class AuthService(tomodachi.Service):
    name = "example-middleware-auth"
    message_envelope = JsonBase
    options = tomodachi.Options(http={"port": 9700})
    http_middleware = [authenticate]
    message_middleware = [sender_middleware]

    def __init__(self) -> None:
        self.audit: list[str] = []

    @tomodachi.http("GET", r"/me")
    @require_role("reader")
    async def me(self, principal: Principal) -> dict[str, Any]:
        return {"body": {"user": principal.user, "roles": sorted(principal.roles)}}

    @tomodachi.http("POST", r"/users/(?P<new_user>[a-z]+)")
    @require_role("admin")
    async def create_user(self, new_user: str, principal: Principal) -> tuple[int, str]:
        await tomodachi.amqp_publish(self, {"user": new_user, "by": principal.user}, routing_key="user.created")
        return 201, f"created {new_user}"

    @tomodachi.amqp("user.*")
    async def on_user_event(self, data: dict[str, Any], routing_key: str, sender: str) -> None:
        self.audit.append(f"{routing_key} {data['user']} by {data['by']} via {sender}")
