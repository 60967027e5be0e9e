"""Runs a service's deliveries without a task per message: one drain task steps each delivery's pipeline in the
delivery's own context, and becomes the task of the first delivery that has to wait (a new one drains the rest)."""

from __future__ import annotations

import asyncio
import types
from collections import deque
from collections.abc import Callable, Coroutine, Generator
from contextvars import Context, copy_context
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tomodachi.logging.framework import FrameworkLogger
    from tomodachi.messaging.broker import Delivery
    from tomodachi.messaging.pipeline import MessagePipeline


class DeliveryRunner:
    """Starts each submitted delivery's pipeline in a later turn of the event loop, as a task per delivery would.

    A handler runs in a task from start to end, the same task throughout (``asyncio.current_task()``, timeouts and
    cancellation work as they do in a task of its own); its context is a copy of the one it was submitted in, so
    its context variables are its own. Deliveries submitted while a drain step runs wait for the next step: the
    loop's other callbacks run in between, and acks that dispatch further deliveries never nest."""

    def __init__(self, in_flight: dict[Delivery, asyncio.Task[Any] | None], logger: FrameworkLogger) -> None:
        # each delivery being handled, and the task running it (``None``: not started, the drain task runs it)
        self.in_flight = in_flight
        self.logger = logger
        self._ready: deque[tuple[MessagePipeline, Delivery, Context]] = deque()
        self._drainer: asyncio.Task[None] | None = None

    def submit(self, pipeline: MessagePipeline, delivery: Delivery) -> None:
        self._ready.append((pipeline, delivery, copy_context()))
        self.in_flight[delivery] = None
        drainer = self._drainer
        if drainer is None or drainer.done():  # done: cancelled before it ever ran
            self._drainer = asyncio.get_running_loop().create_task(self._drain())

    def drop(self, deliveries: list[Delivery]) -> None:
        """Forget ``deliveries`` that were cut off before they started (their messages were handed back)."""
        cut = set(deliveries)
        kept = [entry for entry in self._ready if entry[1] not in cut]
        self._ready.clear()
        self._ready.extend(kept)
        for delivery in cut:
            if self.in_flight.get(delivery, False) is None:
                del self.in_flight[delivery]

    def task_of(self, delivery: Delivery) -> asyncio.Task[Any] | None:
        """The task that runs (or, not started yet, will run) ``delivery``."""
        task = self.in_flight.get(delivery)
        return task if task is not None else self._drainer

    def tasks(self) -> dict[Delivery, asyncio.Task[Any]]:
        """Each delivery in flight and the task that runs (or will run) it."""
        found: dict[Delivery, asyncio.Task[Any]] = {}
        for delivery in self.in_flight:
            task = self.task_of(delivery)
            if task is not None:
                found[delivery] = task
        return found

    async def _drain(self) -> None:
        ready, in_flight = self._ready, self.in_flight
        task = asyncio.current_task()
        assert task is not None, "the drain runs as a task"
        # cancel requests of this task (Python 3.11+; on 3.10 a handler cancelling its task goes unnoticed here)
        cancelling: Callable[[], int] | None = getattr(task, "cancelling", None)
        cancels = cancelling() if cancelling is not None else 0
        try:
            while ready:
                for _ in range(len(ready)):  # this turn's deliveries; those they cause wait for the next turn
                    pipeline, delivery, context = ready.popleft()
                    in_flight[delivery] = delivery.handler_task = task
                    steps = pipeline.handle(delivery)
                    try:
                        awaited = context.run(steps.send, None)
                    except StopIteration:
                        pass
                    except asyncio.CancelledError:  # raised by the handler itself: its task would end cancelled
                        pass
                    except Exception as exc:
                        self._failed(exc)
                    except BaseException:  # KeyboardInterrupt, SystemExit: on their way out of the event loop
                        in_flight.pop(delivery, None)
                        raise
                    else:
                        # it waits: this task is its task from now on, a new one drains the rest
                        self._hand_over(task)
                        try:
                            await _follow(steps, context, awaited)
                        except Exception as exc:
                            self._failed(exc)
                        finally:
                            in_flight.pop(delivery, None)
                        return
                    in_flight.pop(delivery, None)
                    if cancelling is not None and cancelling() != cancels:
                        # the handler cancelled the task it ran in (asyncio.current_task().cancel()): that task ends,
                        # as the handler's own task would have; a new one drains the rest
                        self._hand_over(task)
                        await _swallow_cancel()
                        return
                if ready:
                    try:
                        await _next_turn()
                    except asyncio.CancelledError:
                        # cancelled between turns (the transport stopping after its grace period, which hands these
                        # messages back): what did not start never will
                        while ready:
                            in_flight.pop(ready.popleft()[1], None)
                        raise
        finally:
            if self._drainer is task:
                self._drainer = None

    def _hand_over(self, task: asyncio.Task[Any] | None) -> None:
        if self._drainer is task:
            self._drainer = asyncio.get_running_loop().create_task(self._drain()) if self._ready else None

    def _failed(self, exc: Exception) -> None:
        # the pipeline raises only when settling failed (ack / retry / dead-letter): say so, the bus redelivers
        self.logger.error("message pipeline failed", exc_info=exc)


@types.coroutine
def _next_turn() -> Generator[None, None, None]:
    yield  # a bare yield: the task resumes after the loop's other ready callbacks (as asyncio.sleep(0))


async def _swallow_cancel() -> None:
    """Take the cancellation a handler asked of the running task, which it gets at its next wait."""
    try:
        await _next_turn()
    except asyncio.CancelledError:
        pass


@types.coroutine
def _follow(steps: Coroutine[Any, Any, None], context: Context, awaited: Any) -> Generator[Any, Any, None]:
    """Drive ``steps`` to its end in ``context``: hand what it awaits to the task running this, and what the task
    sends or throws back to it."""
    run = context.run
    while True:
        try:
            value = yield awaited
        except GeneratorExit:
            run(steps.close)
            raise
        except BaseException as exc:  # noqa: BLE001 - cancellation and errors are the coroutine's to handle
            try:
                awaited = run(steps.throw, exc)
            except StopIteration:
                return
            continue
        try:
            awaited = run(steps.send, value)
        except StopIteration:
            return
