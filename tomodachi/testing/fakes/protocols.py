"""The test API of ``fake_amqp`` and ``fake_sns_sqs``: one vocabulary, implemented on both wires."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from datetime import timedelta
from typing import Any, Protocol

from tomodachi.messaging.amqp.descriptors import AmqpProperties
from tomodachi.testing.clock import Duration
from tomodachi.testing.records import DeadLetter, Pending, PublishedMessage, QueuedMessage


class FakeBus(Protocol):
    """What both fakes offer. Records: :class:`PublishedMessage`, :class:`QueuedMessage`, :class:`DeadLetter`."""

    @property
    def bus(self) -> str: ...

    def published(self, destination: str | None = None) -> list[PublishedMessage]:
        """Messages published on this bus (by services and the test), oldest first; filtered by destination."""
        ...

    def queues(self) -> list[str]: ...

    def messages(self, queue: str) -> list[QueuedMessage]:
        """What sits in ``queue`` (a dead-letter queue too), in delivery order."""
        ...

    def dead_letters(self, queue: str | None = None) -> list[DeadLetter]:
        """Messages given up on while the test ran: dead-lettered or dropped."""
        ...

    def take_dead_letters(self, queue: str | None = None) -> list[DeadLetter]:
        """Like dead_letters(), and marks them noticed so teardown does not fail the test on them."""
        ...

    def expect_dead_letters(self, queue: str | None = None) -> None:
        """Declare that messages on ``queue`` (any, when ``None``) may be lost in this test."""
        ...

    def fail_next_publishes(self, times: int = 1, exc: BaseException | type[BaseException] | None = None) -> None:
        """The next ``times`` publishes raise ``exc`` (a broker error by default)."""
        ...

    async def settle(self, timeout: float = 10.0) -> None:
        """Deliver until nothing of this bus can progress at the current virtual time; never moves the clock."""
        ...

    async def run_until_idle(self, limit: Duration = timedelta(days=1)) -> None:
        """Advance the virtual clock through every back-off and timeout until nothing is pending."""
        ...

    def pending(self) -> list[Pending]:
        """What waits on the clock, and until when."""
        ...

    def is_idle(self) -> bool: ...

    # -- faults (in-memory wire only; on real wires they skip the test) -----------------------------------------

    def duplicate_next(self, queue: str, copies: int = 2) -> None:
        """The next message on ``queue`` is delivered ``copies`` times."""
        ...

    def fail_next_deliveries(
        self, queue: str, times: int = 1, exc: BaseException | type[BaseException] | None = None
    ) -> None:
        """The next ``times`` delivery attempts on ``queue`` fail as if the handler had raised."""
        ...

    def reorder(self, queue: str, seed: int | None = None) -> None:
        """``queue`` hands out its messages in a seeded shuffled order."""
        ...

    def latency(self, queue: str, seconds: Duration) -> None:
        """New messages on ``queue`` become deliverable ``seconds`` later on the clock (seconds, a timedelta or a
        spoken duration such as ``"2 minutes"``)."""
        ...

    def outage(self) -> AbstractAsyncContextManager[None]:
        """``async with fake.outage():`` the broker is unreachable inside the block."""
        ...

    def redeliver_in_flight(self, queue: str) -> int:
        """The messages being handled on ``queue`` are delivered again while their handlers run on."""
        ...


class FakeAmqp(FakeBus, Protocol):
    """``fake_amqp``: the RabbitMQ of the test."""

    async def publish(
        self,
        destination: str,
        data: Any,
        *,
        envelope: object = ...,
        attributes: Mapping[str, object] | None = None,
        exchange_name: str = "amq.topic",
        properties: AmqpProperties | None = None,
        service: object = None,
    ) -> PublishedMessage:
        """Publish ``data`` with routing key ``destination`` as a service's ``amqp_publish`` would (JsonBase
        envelope by default; ``envelope=None``: raw body): ``attributes`` become AMQP headers; ``properties``
        replace the message's own (``attributes`` join their headers); ``service`` (a service instance) signs
        the envelope instead of the test."""
        ...

    def queue_depth(self, queue: str) -> int: ...

    def close_channel(self, queue: str) -> int:
        """The channel under the running handlers of ``queue`` closes: their messages are requeued (redelivered)."""
        ...

    def consumer_count(self, queue: str) -> int: ...


class FakeSnsSqs(FakeBus, Protocol):
    """``fake_sns_sqs``: the SNS+SQS of the test."""

    async def publish(
        self,
        destination: str,
        data: Any,
        *,
        envelope: object = ...,
        attributes: Mapping[str, object] | None = None,
        group_id: str | None = None,
        deduplication_id: str | None = None,
        topic_prefix: str = "",
    ) -> PublishedMessage:
        """SNS Publish to topic ``destination`` (JsonBase envelope by default; ``envelope=None``: raw message);
        ``attributes`` are SNS message attributes; ``group_id`` makes it a FIFO publish."""
        ...

    async def send(
        self,
        queue: str,
        data: Any,
        *,
        envelope: object = ...,
        attributes: Mapping[str, object] | None = None,
        group_id: str | None = None,
        deduplication_id: str | None = None,
        delay_seconds: int | None = None,
    ) -> PublishedMessage:
        """SQS SendMessage straight to ``queue``."""
        ...

    def fail_next_receives(self, times: int = 1, exc: BaseException | type[BaseException] | None = None) -> None: ...

    def expire_visibility(self, queue: str) -> int:
        """Messages being handled on ``queue`` become visible again and are delivered a second time."""
        ...

    def topics(self) -> list[str]: ...

    def queue_attributes(self, queue: str) -> dict[str, str]: ...

    def dead_letter_queue_of(self, queue: str) -> str | None: ...
