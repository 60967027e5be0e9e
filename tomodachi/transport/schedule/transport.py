"""The schedule transport: one loop per scheduled function, sleeping on the environment's Clock until each fire time.

Every run is a new task (runs may overlap); at 20 unfinished runs of one function further runs are skipped.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from tomodachi.handler_check import report_findings, schedule_findings
from tomodachi.handlers import handler_parameters
from tomodachi.logging import bind_handler_context
from tomodachi.logging import framework_logger as get_logger  # no structlog import on the start path
from tomodachi.messaging.publish_scope import discard_scope, open_scope, settle_scope
from tomodachi.middleware import execute_middlewares
from tomodachi.runtime.clock import Clock, RealClock, handler_clock
from tomodachi.runtime.observe import call_handler
from tomodachi.runtime.transport import BoundHandler, TransportContext
from tomodachi.transport.schedule.fire_times import iter_fire_times
from tomodachi.transport.schedule.parse import InvalidScheduleError, Schedule, parse_schedule

MAX_UNFINISHED_TASKS = 20
# a fire time this far in the past (process suspended, loop blocked) is skipped instead of run late
_MISSED_AFTER = timedelta(seconds=1)
# under a test clock the grace period passes only when the test advances it; this much real time bounds the
# wait anyway, so a teardown that nobody advances cannot stall a test run
_VIRTUAL_STOP_REAL_BOUND = 2.0
_INJECTABLE: tuple[str, ...] = ("invocation_time", "interval")


@dataclass
class _Job:
    handler: BoundHandler
    where: str  # "<service>.<function>" for logs and error reports
    schedule: Schedule
    interval: Any  # the decorator's value, injected as ``interval``
    immediately: bool
    inject: tuple[str, ...]
    tasks: set[asyncio.Task[None]] = field(default_factory=set)


class ScheduleTransport:
    """Runs the scheduled functions of one service instance."""

    def __init__(self, context: TransportContext) -> None:
        self.context = context
        self.clock: Clock = context.environment.clock
        self.service_name = str(getattr(context.service, "name", "") or type(context.service).__name__)
        self._jobs: list[_Job] = []
        self._loops: list[asyncio.Task[None]] = []
        self._stopping = False
        self._stopped = False
        self._log = get_logger("tomodachi.scheduler")
        self._handler_log = get_logger("tomodachi.schedule.handler")
        self._tasks = context.environment.execution.counter("scheduled_functions")

    async def setup(self) -> None:
        """Parse every schedule; any invalid one raises (naming the function) before anything runs."""
        jobs = [self._job(handler) for handler in self.context.handlers]
        report_findings(self.context, schedule_findings(self.context.handlers, _INJECTABLE))
        self._jobs = jobs
        self.context.environment.execution.enable("scheduled_functions", {})

    def _job(self, handler: BoundHandler) -> _Job:
        args = handler.spec.args
        where = f"{type(self.context.service).__name__}.{handler.name}"
        try:
            schedule = parse_schedule(args.get("interval"), args.get("timestamp"), args.get("timezone"))
        except InvalidScheduleError as exc:
            raise InvalidScheduleError(f"invalid schedule for scheduled function {where}: {exc}") from None
        params = handler_parameters(handler.func)
        if any(p.kind is p.VAR_KEYWORD for p in params):
            inject = _INJECTABLE
        else:
            names = {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
            inject = tuple(name for name in _INJECTABLE if name in names)
        return _Job(
            handler=handler,
            where=f"{self.service_name}.{handler.name}",
            schedule=schedule,
            interval=args.get("interval"),
            immediately=bool(args.get("immediately")),
            inject=inject,
        )

    async def start(self) -> None:
        if self._stopping or self._loops:
            return
        started = self.clock.now()
        loop = asyncio.get_running_loop()
        self._loops = [loop.create_task(self._run(job, started)) for job in self._jobs]

    async def _run(self, job: _Job, started: datetime) -> None:
        if job.immediately:
            self._launch(job, started)
        times = iter_fire_times(job.schedule, started, anchor=started)
        while not self._stopping:
            due = next(times, None)
            now = self.clock.now()
            if due is not None and due < now - _MISSED_AFTER:
                self._log.warning("skipping missed scheduled runs", function=job.where, missed_from=_iso(due))
                times = iter_fire_times(job.schedule, now, anchor=started)
                due = next(times, None)
            if due is None:
                self._log.info("schedule has no further fire times", function=job.where)
                return
            await self.clock.sleep_until(due)
            if self._stopping:
                return
            self._launch(job, due)

    def _launch(self, job: _Job, due: datetime) -> None:
        if self._stopping:
            return
        if len(job.tasks) >= MAX_UNFINISHED_TASKS:
            self._log.warning(
                "too many scheduled tasks still running for function – skipping this run",
                function=job.where,
                unfinished_tasks=len(job.tasks),
                invocation_time=_iso(due),
            )
            return
        task = asyncio.get_running_loop().create_task(self._invoke(job, due))
        job.tasks.add(task)
        task.add_done_callback(job.tasks.discard)

    async def _invoke(self, job: _Job, due: datetime) -> None:
        values = {"invocation_time": _iso(due), "interval": job.interval}
        handler_clock.set(self.clock)  # this run's own task: asyncio.sleep in it waits on a test's virtual clock
        self._tasks.started()
        # the run's publishes: their confirms are awaited when it ends; one that fails fails the run
        scope = open_scope()
        try:
            # user code calling tomodachi.get_logger() inside the handler logs with this context
            with bind_handler_context(
                "tomodachi.schedule.handler", handler=job.handler.name, type="tomodachi.schedule"
            ):
                await call_handler(
                    self._through_pre_middleware(job, values),
                    (),
                    {name: values[name] for name in job.inject},
                    observers=self.context.environment.observers,
                    clock=self.clock,
                    service=self.service_name,
                    handler=job.handler.name,
                    transport="schedule",
                )
                await settle_scope(scope)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._handler_log.exception(
                f"uncaught exception in scheduled function: {exc}",
                handler=job.handler.name,
                type="tomodachi.schedule",
                service=self.service_name,
                invocation_time=values["invocation_time"],
            )
            self.context.environment.report_error(exc, job.where)
        finally:
            discard_scope(scope)
            self._tasks.ended()

    def _through_pre_middleware(self, job: _Job, values: Mapping[str, object]) -> Callable[..., object]:
        """The handler, behind the service's ``_schedule_pre_middleware`` when it has any (instrumentation such
        as OpenTelemetry's puts its own there); each middleware may read every schedule value by name."""
        middlewares = list(getattr(self.context.service, "_schedule_pre_middleware", None) or ())
        func = job.handler.func
        if not middlewares:
            return func

        async def handler(**current: object) -> object:
            result = func(**{name: current[name] for name in job.inject if name in current})
            return await result if inspect.isawaitable(result) else result

        async def chained(**kwargs: object) -> object:
            return await execute_middlewares(handler, middlewares, self.context.service, (), {**values, **kwargs})

        return chained

    async def stop(self, grace_period: float) -> None:
        """No new runs from now on; running ones get ``grace_period`` seconds (on the clock) before cancellation.

        The wait is also bounded in real time (the grace period on a RealClock, at most 2 s on any other clock),
        so a stop under a VirtualClock that nobody advances cannot hang.
        """
        self._stopping = True
        if self._stopped:
            return
        self._stopped = True
        loops, self._loops = self._loops, []
        for loop_task in loops:
            loop_task.cancel()
        await asyncio.gather(*loops, return_exceptions=True)
        running = {task for job in self._jobs for task in job.tasks if not task.done()}
        if not running:
            return
        loop = asyncio.get_running_loop()
        grace_over: asyncio.Future[None] = loop.create_future()
        timer = self.clock.call_later(grace_period, _resolve, grace_over)
        all_done: asyncio.Future[Any] = asyncio.ensure_future(asyncio.wait(running))
        waiters: set[asyncio.Future[Any]] = {all_done, grace_over}
        try:
            real_bound = (
                grace_period if isinstance(self.clock, RealClock) else min(grace_period, _VIRTUAL_STOP_REAL_BOUND)
            )
            await asyncio.wait(waiters, timeout=max(0.0, real_bound), return_when=asyncio.FIRST_COMPLETED)
        finally:
            timer.cancel()
            all_done.cancel()
            grace_over.cancel()
        unfinished = [task for task in running if not task.done()]
        if unfinished:
            self._log.warning(
                "scheduled functions did not finish within the grace period – cancelling them",
                service=self.service_name,
                unfinished_tasks=len(unfinished),
                grace_period=grace_period,
            )
            for task in unfinished:
                task.cancel()
            await asyncio.gather(*unfinished, return_exceptions=True)


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def create_transport(context: TransportContext) -> ScheduleTransport:
    return ScheduleTransport(context)
