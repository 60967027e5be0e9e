"""The HTTP transport's lifecycle: build routes, bind and serve in ``setup()``, drain gracefully in ``stop()``."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from tomodachi.handler_check import http_findings, report_findings
from tomodachi.logging import framework_logger as get_logger  # no structlog import on the start path
from tomodachi.runtime.transport import BoundHandler, TransportContext
from tomodachi.transport.http.access_log import AccessLog
from tomodachi.transport.http.keys import SETTINGS
from tomodachi.transport.http.resource import ServiceResource
from tomodachi.transport.http.response import HttpException
from tomodachi.transport.http.routing import RouteError, Router, build_routes
from tomodachi.transport.http.server import HttpApp
from tomodachi.transport.http.settings import HttpSettings
from tomodachi.transport.http.static import static_root
from tomodachi.transport.http.timeouts import GuardedAppRunner

# after the grace period aiohttp gets this long to cancel what is still running before connections are dropped
_FORCE_CLOSE_TIMEOUT = 0.1


def _listen_url(host: str, port: int) -> str:
    shown = "localhost" if host in ("0.0.0.0", "127.0.0.1", "::", "") else host
    return f"http://{shown}:{port}/"


class HttpTransport:
    """One aiohttp server for one service. ``bound_address`` is the listening (host, port) once set up."""

    def __init__(self, context: TransportContext) -> None:
        self.context = context
        self.bound_address: tuple[str, int] | None = None
        self.app: HttpApp | None = None
        self._runner: web.AppRunner | None = None
        self._access_log: AccessLog | None = None
        self._stopped: asyncio.Future[None] | None = None
        self._claimed: int | None = None  # the port this service holds in its environment

    async def setup(self) -> None:
        context = self.context
        settings = HttpSettings.from_options(context.options)
        handlers = context.handlers
        router = Router(build_routes(handlers))
        # before binding: a handler that can never be called successfully stops the start here
        report_findings(context, http_findings(context))
        error_handlers: dict[int, BoundHandler] = {}
        static_roots: dict[str, Path] = {}
        for handler in handlers:
            if handler.spec.kind == "http_error":
                status = int(handler.spec.args["status_code"])
                other = error_handlers.get(status)
                if other is not None and other.name != handler.name:
                    raise RouteError(f"duplicate @http_error({status}) handlers: {other.name!r} and {handler.name!r}")
                error_handlers[status] = handler
            elif handler.spec.kind == "http_static":
                static_roots[handler.name] = static_root(handler.spec.args["path"], context.service, handler.name)
        self._access_log = AccessLog(settings.access_log, context.environment.clock)
        self.app = HttpApp(
            service=context.service,
            settings=settings,
            environment=context.environment,
            router=router,
            error_handlers=error_handlers,
            static_roots=static_roots,
            access_log=self._access_log,
        )
        application = web.Application(client_max_size=settings.client_max_size)
        application.router.register_resource(ServiceResource(router, self.app.dispatch))
        application[SETTINGS] = settings
        runner_options: dict[str, Any] = {"access_log": None, "shutdown_timeout": _FORCE_CLOSE_TIMEOUT}
        if settings.keepalive:
            runner_options["keepalive_timeout"] = settings.keepalive_timeout
        self._runner = GuardedAppRunner(
            application,
            header_timeout=settings.header_timeout,
            request_class=self.app.request_class(application),
            handle_signals=False,
            **runner_options,
        )
        await self._runner.setup()

        host, port = context.environment.http_bind or (settings.host, settings.port or 0)
        # reuse_port lets several processes share one port (kernel load balancing); it also means a second
        # service on the same port does not fail to start. Only supported on Linux/BSD.
        reuse_port = settings.reuse_port and sys.platform != "win32"
        ports = context.environment.http_ports
        owner = ports.get(port) if port else None
        if owner is not None:
            raise HttpException(
                f"unable to bind service [http] to http://{host}:{port}/: service {owner!r} in this process already "
                "listens there (give each service its own http.port)"
            )
        if port:  # claimed before binding: the services of a process start concurrently
            self._claimed = port
            ports[port] = str(getattr(context.service, "name", None) or type(context.service).__name__)
        site = web.TCPSite(self._runner, host, port, reuse_port=reuse_port or None)
        try:
            await site.start()
        except OSError as exc:
            get_logger("tomodachi.http").error(
                f"unable to bind service [http] to {_listen_url(host, port)}", listen_host=host, listen_port=port
            )
            raise HttpException(f"unable to bind service [http] to http://{host}:{port}/ ({exc})") from exc
        bound = self._runner.addresses[0]
        self.bound_address = (str(bound[0]), int(bound[1]))
        # upstream's services read their port here (the only way to learn it with http.port=None)
        context_of = getattr(context.service, "context", None)
        if isinstance(context_of, dict):
            context_of["_http_port"] = self.bound_address[1]
        context.environment.execution.enable("http", {"aiohttp_version": aiohttp.__version__})
        get_logger("tomodachi.http").info(
            "accepting http requests",
            listen_url=_listen_url(host, self.bound_address[1]),
            listen_host=host,
            listen_port=self.bound_address[1],
        )

    async def start(self) -> None:
        """Nothing to do: like upstream, the server answers as soon as ``setup()`` has bound it."""

    async def stop(self, grace_period: float) -> None:
        if self._stopped is not None:
            await asyncio.shield(self._stopped)
            return
        self._stopped = asyncio.get_running_loop().create_future()
        try:
            await self._drain(grace_period)
        finally:
            self._stopped.set_result(None)

    async def _drain(self, grace_period: float) -> None:
        runner, app = self._runner, self.app
        if runner is None or app is None:
            if self._access_log is not None:
                self._access_log.close()
            return
        logger = get_logger("tomodachi.http")
        app.state.stopping = True  # requests arriving on live connections from now on get 503
        for site in list(runner.sites):
            await site.stop()  # stop listening first
        if self._claimed is not None:
            self.context.environment.http_ports.pop(self._claimed, None)
        current = asyncio.current_task()
        pending = {task for task in app.state.in_flight if task is not current and not task.done()}
        closing = asyncio.ensure_future(app.websockets.close_all())
        limit = max(0.0, min(grace_period, app.settings.termination_grace_period_seconds))
        if pending:
            logger.info("awaiting in-flight http requests", requests=len(pending), grace_period=limit)
            if not await self._wait(pending, limit):
                logger.warning("all requests did not gracefully finish execution", requests=len(pending))
        if not closing.done():
            closing.cancel()
        await runner.cleanup()  # closes idle keep-alive connections, cancels what is still running
        self._runner = None
        if self._access_log is not None:
            self._access_log.close()

    @staticmethod
    async def _wait(tasks: set[asyncio.Task[Any]], seconds: float) -> bool:
        """True if every task finished within ``seconds``.

        Real time on purpose: requests are real socket I/O, and a virtual clock that a test never advances would
        otherwise turn a stuck request into a teardown that never ends.
        """
        if seconds <= 0:
            return all(task.done() for task in tasks)
        _, pending = await asyncio.wait(tasks, timeout=seconds)
        return not pending


def create_transport(context: TransportContext) -> HttpTransport:
    return HttpTransport(context)
