"""``ServiceHandle``: what a test holds for one running service — its instance, HTTP client, errors and calls."""

from __future__ import annotations

import asyncio
import difflib
import time
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from tomodachi.handlers import specs_of
from tomodachi.runtime.clock import Clock
from tomodachi.runtime.container import ServiceContainer
from tomodachi.testing.records import HandlerCall
from tomodachi.testing.settle import SettleTimeout

if TYPE_CHECKING:
    import aiohttp

    from tomodachi.testing.harness import ServiceHarness

S = TypeVar("S")

DEFAULT_CALL_TIMEOUT = 10.0
CALL_POLL_SECONDS = 0.05  # real seconds wait_for_call() waits for a call's signal before it looks again
SETTLE_SLICE_SECONDS = 0.1  # real seconds of one settle() of wait_for_call() before it looks at the calls again


def expected_types(exception_types: tuple[type[BaseException], ...]) -> tuple[type[BaseException], ...]:
    """``expect_errors()``'s arguments, refused when there are none: expecting nothing would silently do nothing."""
    if not exception_types:
        raise TypeError(
            "expect_errors() takes the exception classes to expect, e.g. expect_errors(ValueError); "
            "expect_errors(Exception) expects any error"
        )
    return exception_types


class ServiceHandle(Generic[S]):
    """What ``await tomodachi_service(MyService)`` returns: ``svc.instance`` is the running ``MyService``."""

    def __init__(self, harness: ServiceHarness, container: ServiceContainer) -> None:
        self._harness = harness
        self.container = container
        self._http: aiohttp.ClientSession | None = None
        # (service, config, options) as given to the harness: what a restart starts again
        self.started_with: tuple[Any, Any, Any] | None = None

    @property
    def instance(self) -> S:
        """The service instance (its attributes hold whatever the handlers stored)."""
        return cast(S, self.container.instance)

    @property
    def name(self) -> str:
        return self.container.name

    def __repr__(self) -> str:
        container = self.container
        state = "stopped" if container.stopped.is_set() else "running" if container.started.is_set() else "starting"
        return f"<ServiceHandle {self.name!r} ({container.service_class.__name__}, {state})>"

    @property
    def clock(self) -> Clock:
        return self.container.environment.clock

    # -- errors ----------------------------------------------------------------------------------------------

    @property
    def errors(self) -> list[BaseException]:
        """Exceptions raised by this service's handlers so far (not yet taken)."""
        return [e.exception for e in self._harness.ledger.errors_of(self.name)]

    def take_errors(self) -> list[BaseException]:
        """This service's captured handler exceptions, marked noticed (they no longer fail the test)."""
        return self._harness.ledger.take_errors(self.name)

    def expect_errors(self, *exception_types: type[BaseException]) -> None:
        """Exception types this service's handlers may raise in this test without failing it."""
        self._harness.ledger.expect_errors(self.name, expected_types(exception_types))

    # -- handler calls ---------------------------------------------------------------------------------------

    def calls(self, handler: str) -> list[HandlerCall]:
        """Every finished call of the handler method ``handler`` (HTTP, messaging or scheduled), oldest first."""
        self._check_handler(handler)
        return [c for c in self._harness.ledger.calls if c.service == self.name and c.handler == handler]

    async def wait_for_call(
        self, handler: str, count: int = 1, *, timeout: float = DEFAULT_CALL_TIMEOUT
    ) -> list[HandlerCall]:
        """Settle the fakes until ``handler`` was called ``count`` times in all; returns its calls.

        Never moves the virtual clock. Raises ``TimeoutError`` after ``timeout`` real seconds, saying how many
        calls happened and what is still busy or waits on the clock. On real wires it waits for the calls
        themselves, in real time (not for the bus to be quiet: another handler may run on)."""
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ValueError(f"count must be a positive int, not {count!r}")
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
            raise ValueError(f"timeout is a positive number of real seconds, not {timeout!r}")
        # on real wires a broker cannot be settled: the calls themselves are waited for, in real time
        settling = self._harness.wire != "real"
        deadline = time.monotonic() + timeout
        signal = self._harness.ledger.call_signal()
        busy = ""  # what the last settle found still busy
        while True:
            calls = self.calls(handler)
            if len(calls) >= count:
                return calls
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                if busy:
                    raise TimeoutError(f"{self._called(handler, count, len(calls), timeout)}; {busy}")
                raise TimeoutError(self._not_called(handler, count, len(calls), timeout))
            if settling:
                # settled a slice at a time: a call that happened while another handler still runs (waiting in
                # real time) ends the wait at once, not when that handler is done
                try:
                    await self._harness.settle(timeout=min(remaining, SETTLE_SLICE_SECONDS))
                    busy = ""
                except SettleTimeout as exc:
                    busy = exc.busy
                    continue
                if len(self.calls(handler)) >= count:
                    continue
            signal.clear()  # each recorded call sets it; a short poll on the real clock besides
            try:
                await asyncio.wait_for(signal.wait(), min(remaining, CALL_POLL_SECONDS))
            except asyncio.TimeoutError:
                pass

    def _called(self, handler: str, count: int, seen: int, timeout: float) -> str:
        return f"{self.name}.{handler} was called {seen} time(s) within {timeout:g} s of real time, not {count}"

    def _not_called(self, handler: str, count: int, seen: int, timeout: float) -> str:
        message = self._called(handler, count, seen, timeout)
        if self._harness.wire == "real":
            from tomodachi.testing.fakes.real import running_handlers, still_busy

            running = running_handlers(self._harness.environment)
            return f"{message}; {still_busy(running)}" if running else message
        pending = self._harness.pending()
        if pending:
            lines = "\n".join(f"  {item}" for item in pending)
            message += (
                f"; waiting on the virtual clock (at {self.clock.now().isoformat()}):\n{lines}\n"
                "advance the clock or use run_until_idle() to let them happen"
            )
        return message

    def _check_handler(self, handler: str) -> None:
        service_class = type(self.container.instance) if self.container.instance is not None else None
        if service_class is None:
            return
        names = [name for name in dir(service_class) if specs_of(getattr(service_class, name, None))]
        if handler not in names:
            close = difflib.get_close_matches(handler, names, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ValueError(
                f"{service_class.__name__} has no handler {handler!r} (handlers: {', '.join(sorted(names))}).{hint}"
            )

    # -- http ------------------------------------------------------------------------------------------------

    @property
    def http(self) -> aiohttp.ClientSession:
        """An aiohttp ClientSession bound to this service's HTTP server (``await svc.http.get("/path")``)."""
        if self._http is None:
            import aiohttp

            if self.container.stopped.is_set():
                raise RuntimeError(f"service {self.name!r} is stopped: its HTTP server is gone")
            transport = self.container.transports.get("http")
            address: Any = getattr(transport, "bound_address", None)
            if address is None:
                raise RuntimeError(f"service {self.name!r} has no running HTTP server")
            host, port = address[0], address[1]
            self._http = aiohttp.ClientSession(base_url=f"http://{host}:{port}")
        return self._http

    async def stop(self, grace_period: float | None = None) -> None:
        """Stop the service gracefully (``grace_period`` overrides its termination grace period)."""
        if self._http is not None:
            await self._http.close()
            self._http = None
        await self.container.stop(grace_period=grace_period)
