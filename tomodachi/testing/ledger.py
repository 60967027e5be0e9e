"""What one test's system did, as its Environment observed it: handler calls, errors and lost messages — and
which of them the test noticed, so teardown can fail on the rest."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from tomodachi.runtime.observe import HandlerCallEvent, MessageLostEvent, MessagePublishedEvent
from tomodachi.testing.records import DeadLetter, HandlerCall


@dataclass(frozen=True)
class CapturedError:
    """An exception a handler raised while a test ran, and where (``"<service>.<handler>"``)."""

    exception: BaseException
    where: str


class UnnoticedErrors(AssertionError):
    """Raised at teardown when handlers raised exceptions, or messages were lost, that the test did not notice."""


class LostMessages(UnnoticedErrors):
    """Raised at teardown when messages were dead-lettered or dropped and the test neither took nor expected it."""


# turns a loss event into the record the fakes hand out (the fake of its bus knows the dead-letter queue)
DeadLetterFactory = Callable[[MessageLostEvent], DeadLetter]


class Ledger:
    """The Environment observer of one test; also the store of captured handler errors."""

    def __init__(self) -> None:
        self.calls: list[HandlerCall] = []
        # calls, losses and injected faults in the order they happened (a fault plan's delivery trace)
        self.timeline: list[object] = []
        self.errors: list[CapturedError] = []
        self.expected_errors: dict[str | None, list[type[BaseException]]] = {}
        self.losses: list[DeadLetter] = []
        self.expected_losses: list[tuple[str, str | None]] = []
        self.dead_letter_factories: dict[str, DeadLetterFactory] = {}
        # exceptions a fake raised in place of a handler: the test asked for them, they are not unnoticed errors
        # by id; holding the exception keeps its id from being reused
        self.injected: dict[int, BaseException] = {}
        self._call_signal: asyncio.Event | None = None

    # -- Observer --------------------------------------------------------------------------------------------

    def handler_called(self, event: HandlerCallEvent) -> None:
        call = HandlerCall.of(event)  # arguments are bound to names only when a test reads them
        self.calls.append(call)
        self.timeline.append(call)
        if self._call_signal is not None:
            self._call_signal.set()

    def message_published(self, event: MessagePublishedEvent) -> None:
        """Publishes are kept by the brokers' own logs (``published()``)."""

    def message_lost(self, event: MessageLostEvent) -> None:
        factory = self.dead_letter_factories.get(event.bus)
        if factory is None:
            from tomodachi.testing.fakes.base import dead_letter_from_event

            factory = dead_letter_from_event
        loss = factory(event)
        self.losses.append(loss)
        self.timeline.append(loss)

    def record_loss(self, record: DeadLetter) -> None:
        """A loss the broker itself caused (e.g. SQS redrive after too many receives)."""
        self.losses.append(record)
        self.timeline.append(record)

    # -- calls -----------------------------------------------------------------------------------------------

    def call_signal(self) -> asyncio.Event:
        """Set whenever a handler call is recorded (clear it before waiting)."""
        if self._call_signal is None:
            self._call_signal = asyncio.Event()
        return self._call_signal

    # -- errors ----------------------------------------------------------------------------------------------

    def report_error(self, exc: BaseException, where: str) -> None:
        self.errors.append(CapturedError(exc, where))

    def mark_injected(self, failure: BaseException) -> None:
        """``failure`` is raised in place of a handler because the test asked for it."""
        self.injected[id(failure)] = failure

    def errors_of(self, service_name: str | None) -> list[CapturedError]:
        """Handler errors of ``service_name`` (every service when ``None``) not taken yet, injected ones left out."""
        return [
            e
            for e in self.errors
            if (service_name is None or _service_of(e.where) == service_name) and id(e.exception) not in self.injected
        ]

    def take_errors(self, service_name: str | None = None) -> list[BaseException]:
        """The handler errors of ``service_name`` (every service when ``None``), marked noticed; injected
        faults are left out (the test asked for them: they are in the call records)."""
        taken = self.errors_of(service_name)
        self.errors = [e for e in self.errors if e not in taken]
        return [e.exception for e in taken]

    def expect_errors(self, service_name: str | None, exception_types: tuple[type[BaseException], ...]) -> None:
        for exception_type in exception_types:
            if not (isinstance(exception_type, type) and issubclass(exception_type, BaseException)):
                raise TypeError(f"expect_errors() takes exception classes, not {exception_type!r}")
        self.expected_errors.setdefault(service_name, []).extend(exception_types)

    def unnoticed_errors(self) -> list[CapturedError]:
        def expected(error: CapturedError) -> bool:
            if id(error.exception) in self.injected:
                return True
            types = (*self.expected_errors.get(None, ()), *self.expected_errors.get(_service_of(error.where), ()))
            return bool(types) and isinstance(error.exception, types)

        return [e for e in self.errors if not expected(e)]

    # -- losses ----------------------------------------------------------------------------------------------

    def take_losses(self, bus: str, queue: str | None = None) -> list[DeadLetter]:
        taken = [d for d in self.losses if d.bus == bus and d.concerns(queue)]
        self.losses = [d for d in self.losses if d not in taken]
        return taken

    def expect_losses(self, bus: str, queue: str | None = None) -> None:
        self.expected_losses.append((bus, queue))

    def unnoticed_losses(self) -> list[DeadLetter]:
        return [
            d for d in self.losses if not any(bus == d.bus and d.concerns(queue) for bus, queue in self.expected_losses)
        ]

    def raise_unnoticed(self) -> None:
        errors, losses = self.unnoticed_errors(), self.unnoticed_losses()
        if not errors and not losses:
            return
        sections = []
        if errors:
            lines = "\n".join(f"  {e.where}: {type(e.exception).__name__}: {e.exception}" for e in errors)
            sections.append(
                f"{len(errors)} handler exception(s) were raised and not noticed by the test:\n{lines}\n"
                "Take them with svc.take_errors() or declare them with svc.expect_errors(ExcType)."
            )
        if losses:
            lines = "\n".join(f"  {d.describe()}" for d in losses)
            sections.append(
                f"{len(losses)} message(s) were lost (dead-lettered or dropped) and not noticed by the test:\n"
                f"{lines}\nTake them with fake.take_dead_letters() or declare them with fake.expect_dead_letters()."
            )
        message = "\n".join(sections)
        raise (UnnoticedErrors(message) if errors else LostMessages(message))


def _service_of(where: str) -> str:
    return where.rsplit(".", 1)[0]
