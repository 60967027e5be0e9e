"""Upstream's ``connector``: aiobotocore clients kept under an alias name, each created once from the credentials
set up for its alias, and closed together. The ``tomodachi.sns`` / ``tomodachi.sqs`` / ``tomodachi.sts`` aliases
name the AWS services the SNS+SQS transport talks to and default to the running service's AWS options."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from tomodachi.helpers.aws_credentials import Credentials

MAX_POOL_CONNECTIONS = 50
CONNECT_TIMEOUT = 8
READ_TIMEOUT = 35

# the transport's aliases are bound to their AWS service: asking one of them for another service still gets it
TRANSPORT_ALIASES = {"tomodachi.sns": "sns", "tomodachi.sqs": "sqs", "tomodachi.sts": "sts"}
CREDENTIALS_REJECTED = "The security token included in the request is invalid"


def service_credentials(service_name: str, service: Any = None) -> Credentials:
    """A service's AWS settings for ``service_name`` (its region, keys and endpoint URL), as the transport uses
    them; ``service`` defaults to the running one. Empty without a service, so botocore's own chain decides."""
    if service is None:
        from tomodachi.runtime.context import get_service

        service = get_service()
    options = getattr(service, "options", None)
    aws = getattr(options, "aws_sns_sqs", None)
    endpoints = getattr(options, "aws_endpoint_urls", None)
    return Credentials(
        region_name=getattr(aws, "region_name", None),
        aws_access_key_id=getattr(aws, "aws_access_key_id", None),
        aws_secret_access_key=getattr(aws, "aws_secret_access_key", None),
        endpoint_url=getattr(endpoints, service_name, None),
    )


def remember_service_credentials(service: Any) -> None:
    """Set up the transport's aliases with ``service``'s settings, as upstream's transport did when it started;
    they stay after the service stopped, until ``connector.close()``."""
    for alias, service_name in TRANSPORT_ALIASES.items():
        connector.setup_credentials(alias, service_credentials(service_name, service))


class ClientConnector:
    """aiobotocore clients by alias: ``async with connector("tomodachi.sqs") as client: ...``."""

    def __init__(self) -> None:
        self.clients: dict[str, Any] = {}
        self.credentials: dict[str, Credentials] = {}
        self.aliases: dict[str, str] = {}  # alias -> AWS service name of its client
        self.locks: dict[str, asyncio.Lock] = {}
        self._stacks: dict[str, AsyncExitStack] = {}

    def setup_credentials(self, alias_name: str, credentials: Any) -> None:
        """The credentials the alias's client is created with (a dict, ``Credentials`` or botocore credentials)."""
        self.credentials[alias_name] = credentials if isinstance(credentials, Credentials) else Credentials(credentials)

    def get_client(self, alias_name: str) -> Any:
        return self.clients.get(alias_name)

    def get_lock(self, alias_name: str) -> asyncio.Lock:
        return self.locks.setdefault(alias_name, asyncio.Lock())

    def _service_of(self, alias_name: str, service_name: str | None) -> str:
        return self.aliases.get(alias_name) or TRANSPORT_ALIASES.get(alias_name) or service_name or alias_name

    def _credentials_for(self, alias_name: str, service_name: str) -> Credentials:
        if alias_name in self.credentials:
            return self.credentials[alias_name]
        return service_credentials(service_name) if alias_name in TRANSPORT_ALIASES else Credentials()

    async def create_client(
        self, alias_name: str | None = None, credentials: Any = None, service_name: str | None = None
    ) -> Any:
        """The alias's client, created (once) for its AWS service; ``alias_name`` defaults to ``service_name``."""
        if alias_name is None and service_name is None:
            raise ValueError("create_client needs an alias_name or a service_name")
        alias = str(alias_name or service_name)
        service = self._service_of(alias, service_name)
        if credentials is not None:
            self.setup_credentials(alias, credentials)
        async with self.get_lock(alias):
            existing = self.clients.get(alias)
            if existing is not None:
                return existing
            import aiobotocore.config
            import aiobotocore.session

            config = aiobotocore.config.AioConfig(
                connect_timeout=CONNECT_TIMEOUT, read_timeout=READ_TIMEOUT, max_pool_connections=MAX_POOL_CONNECTIONS
            )
            values = {key: value for key, value in self._credentials_for(alias, service).items() if value is not None}
            stack = AsyncExitStack()
            session = aiobotocore.session.get_session()
            client = await stack.enter_async_context(session.create_client(service, config=config, **values))
            self.clients[alias], self._stacks[alias], self.aliases[alias] = client, stack, service
            return client

    async def close_client(self, alias_name: str | None = None, client: Any = None, fast: bool = False) -> None:
        """Close the alias's client (or the given client); the next use creates a new one."""
        alias = alias_name or next((name for name, found in self.clients.items() if found is client), None)
        if alias is None:
            return
        self.clients.pop(alias, None)
        stack = self._stacks.pop(alias, None)
        if stack is not None:
            await stack.aclose()

    async def reconnect_client(self, alias_name: str | None = None, client: Any = None) -> Any:
        alias = alias_name or next((name for name, found in self.clients.items() if found is client), None)
        if alias is None or alias not in self.aliases:
            raise ValueError("the client was never created, so it cannot be reconnected")
        service = self.aliases[alias]
        await self.close_client(alias)
        return await self.create_client(alias, service_name=service)

    async def close(self, fast: bool = False) -> None:
        """Close every client and forget the set-up credentials."""
        for alias in list(self.clients):
            await self.close_client(alias)
        self.credentials.clear()
        self.aliases.clear()

    @asynccontextmanager
    async def __call__(
        self, alias_name: str | None = None, credentials: Any = None, service_name: str | None = None
    ) -> AsyncIterator[Any]:
        alias = str(alias_name or service_name or "")
        client = self.get_client(alias) or await self.create_client(alias_name, credentials, service_name)
        try:
            yield client
        except Exception as exc:
            # rejected credentials stay rejected: the next use starts from a new client (and new credentials)
            if CREDENTIALS_REJECTED in str(exc) or type(exc).__name__ in ("NoCredentialsError", "NoRegionError"):
                await self.close_client(alias)
            raise


connector = ClientConnector()

__all__ = ["ClientConnector", "connector", "remember_service_credentials", "service_credentials"]
