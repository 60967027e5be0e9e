"""The broker's SQS receive loop (:class:`SqsReceiver`) and its deliveries (:class:`SqsDelivery`), on any client."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from tomodachi.logging import framework_logger
from tomodachi.messaging.broker import Delivery, DeliveryCallback
from tomodachi.messaging.sns_sqs.client import NON_EXISTENT_QUEUE, AwsApiError, SnsSqsClient
from tomodachi.runtime.clock import Clock

logger = framework_logger("tomodachi.awssnssqs")

MAX_VISIBILITY_TIMEOUT = 43200
# SQS caps a message's *total* invisibility at 12 h counted from its receive: park for a little less
PARKED_VISIBILITY_TIMEOUT = MAX_VISIBILITY_TIMEOUT - 3600
WAIT_TIME_SECONDS = 20
RECONNECT_DELAY = 1.0
MISSING_QUEUE_DELAY = 20.0
DRAIN_TIMEOUT = 3.0
RESTART_DELAY = 10.0  # after an unexpected error in the receive loop, as upstream
# the body of the marker message that ends a stopping receiver's long poll (upstream's, so mixed fleets agree)
DRAIN_MESSAGE_PAYLOAD = "__TOMODACHI_DRAIN__cdab4416-1727-4603-87c9-0ff8dddf1f22__"
DRAIN_GROUP_ID = "__tomodachi_drain__"  # its message group on a FIFO queue
# what SQS answers to ChangeMessageVisibility for a message no longer in flight (its visibility timeout ended)
NOT_IN_FLIGHT = frozenset({"AWS.SimpleQueueService.MessageNotInflight", "MessageNotInflight", "ReceiptHandleIsInvalid"})
# ... of those, the answers for a message that is visible again and not received since: nothing can hide it now
VISIBLE_AGAIN = NOT_IN_FLIGHT - {"ReceiptHandleIsInvalid"}


class SqsDelivery(Delivery):
    """One received SQS message; ``metadata`` carries ``queue_url``, ``receipt_handle`` and the SQS attributes.

    Settling: ``ack`` deletes the message, ``retry(delay)`` changes its visibility so it returns after ``delay``
    seconds, ``dead_letter`` moves it to the queue's redrive dead-letter queue (or, without one, parks it
    invisible for 11 hours — never lost).
    """

    def __init__(self, client: SnsSqsClient, queue_url: str, message: Mapping[str, Any]) -> None:
        attributes = message.get("Attributes") or {}
        receive_count = int(attributes.get("ApproximateReceiveCount", "1") or 1)
        super().__init__(
            body=str(message.get("Body", "")),
            attributes=message.get("MessageAttributes") or {},
            receive_count=receive_count,
            redelivered=receive_count > 1,
            delivery_id=str(message.get("MessageId", "")),
            metadata={
                "queue_url": queue_url,
                "receipt_handle": message.get("ReceiptHandle", ""),
                "sqs_message_id": message.get("MessageId", ""),
                "message_group_id": attributes.get("MessageGroupId"),
                "message_deduplication_id": attributes.get("MessageDeduplicationId"),
            },
        )
        self.client = client
        self.queue_url = queue_url
        self.receipt_handle = str(message.get("ReceiptHandle", ""))

    async def _ack(self) -> None:
        await self.client.delete_message(self.queue_url, self.receipt_handle)

    async def _retry(self, delay: float) -> None:
        timeout = min(MAX_VISIBILITY_TIMEOUT, max(0, int(round(delay))))
        try:
            await self.client.change_message_visibility(self.queue_url, self.receipt_handle, timeout)
        except AwsApiError as exc:
            if exc.code in VISIBLE_AGAIN or (timeout == 0 and exc.code in NOT_IN_FLIGHT):
                # the handler ran past the visibility timeout: SQS made the message visible again already, so it
                # is received again at once whatever the delay (SQS may also answer OK and do nothing). Done.
                logger.info(
                    "message was visible again before it was handed back",
                    sqs_message_id=self.delivery_id,
                    retry_delay_seconds=timeout,
                )
                return
            # a receipt handle no longer valid (the message was received again since) cannot delay the new receive
            raise

    async def _dead_letter(self, reason: str) -> None:
        attributes = await self.client.get_queue_attributes(self.queue_url)
        target = _dead_letter_target(attributes.get("RedrivePolicy"))
        if target is None:
            logger.warning(
                "message has no dead-letter queue to go to; it stays on the queue, invisible for 11 hours",
                queue_url=self.queue_url,
                sqs_message_id=self.delivery_id,
                reason=reason,
            )
            await self.client.change_message_visibility(self.queue_url, self.receipt_handle, PARKED_VISIBILITY_TIMEOUT)
            return
        dlq_url = await self.client.get_queue_url(target.rsplit(":", 1)[-1])
        if dlq_url is None:
            raise AwsApiError(NON_EXISTENT_QUEUE, f"dead-letter queue {target} does not exist")
        group_id = self.metadata.get("message_group_id")
        await self.client.send_message(
            dlq_url,
            self.text(),
            message_attributes=self.attributes,
            group_id=group_id,
            deduplication_id=self.metadata.get("message_deduplication_id") or self.delivery_id if group_id else None,
        )
        # copied first, deleted second: a crash in between duplicates the message rather than losing it
        await self.client.delete_message(self.queue_url, self.receipt_handle)


def _dead_letter_target(redrive_policy: str | None) -> str | None:
    if not redrive_policy:
        return None
    try:
        target = json.loads(redrive_policy).get("deadLetterTargetArn")
    except (ValueError, AttributeError):
        return None
    return str(target) if target else None


class SqsReceiver:
    """Receives from one queue until cancelled; transient errors are logged and retried on the Clock.

    A batch (up to ``max_number_of_messages``) is handed on one delivery at a time; the next receive waits until
    the whole batch is settled, as upstream does (on a FIFO queue, until the settle requests have completed, so
    the next receive finds the message group free). A drain marker (what a stopping receiver sends to end its
    own long poll) is deleted here, never handed on.
    """

    def __init__(
        self,
        client: SnsSqsClient,
        queue_url: str,
        on_delivery: DeliveryCallback,
        *,
        clock: Clock,
        max_number_of_messages: int = 10,
        on_missing_queue: Callable[[], Awaitable[str]] | None = None,
        on_drain: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        self.client = client
        self.queue_url = queue_url
        self.on_delivery = on_delivery
        self.clock = clock
        self.max_number_of_messages = max_number_of_messages
        self.on_missing_queue = on_missing_queue
        self.on_drain = on_drain
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._polling = False
        self._poll_done = asyncio.Event()

    @property
    def task(self) -> asyncio.Task[None] | None:
        """The receive loop's task while it runs."""
        return self._task

    @property
    def polling(self) -> bool:
        """True while a ReceiveMessage call is in progress."""
        return self._polling

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name=f"sqs-receiver:{self.queue_url}")

    async def cancel(self) -> None:
        """Stop receiving at once; deliveries already handed out stay with their handlers."""
        self._stopping = True
        task, self._task = self._task, None
        if task is not None and not task.done() and self._polling and self.on_drain is not None:
            await self._drain_poll()
        if task is not None and not task.done():
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass

    async def _drain_poll(self) -> None:
        """End an ongoing long poll with a drain marker message rather than abandoning it: an abandoned poll
        may still take messages on the server side, which then stay invisible for the visibility timeout.
        What the poll returns is handed out as usual (the transport awaits it within its grace period)."""
        assert self.on_drain is not None
        try:
            await self.on_drain(self.queue_url)
        except Exception as exc:
            logger.warning("unable to send the drain message", queue_url=self.queue_url, error=str(exc))
            return
        # the poll is given DRAIN_TIMEOUT to return; the receiver is cancelled right after either way
        timeout = self.clock.call_later(DRAIN_TIMEOUT, self._poll_done.set)
        try:
            await self._poll_done.wait()
        finally:
            timeout.cancel()

    async def _receive(self) -> list[dict[str, Any]]:
        self._polling = True
        self._poll_done.clear()
        try:
            return await self.client.receive_messages(self.queue_url, self.max_number_of_messages, WAIT_TIME_SECONDS)
        finally:
            self._polling = False

    async def _run(self) -> None:
        """Never a dead consumer: an unexpected error is logged with its traceback and the loop restarted."""
        while not self._stopping:
            try:
                await self._receive_loop()
            except asyncio.CancelledError:
                raise
            except Exception:
                self._poll_done.set()
                logger.exception(
                    "sqs receive loop failed unexpectedly - restarting",
                    queue_url=self.queue_url,
                    restart_delay_seconds=RESTART_DELAY,
                )
                await self.clock.sleep(RESTART_DELAY)

    async def _receive_loop(self) -> None:
        while not self._stopping:
            try:
                messages = await self._receive()
            except asyncio.CancelledError:
                raise
            except AwsApiError as exc:
                self._poll_done.set()
                if exc.code == NON_EXISTENT_QUEUE and self.on_missing_queue is not None:
                    logger.warning("sqs queue is missing - recreating", queue_url=self.queue_url)
                    await self.clock.sleep(MISSING_QUEUE_DELAY)
                    try:
                        self.queue_url = await self.on_missing_queue()
                    except Exception as redeclare_exc:  # keep the loop alive; try again after the delay
                        logger.warning(
                            "unable to recreate sqs queue", queue_url=self.queue_url, error=str(redeclare_exc)
                        )
                    continue
                logger.warning("unable to receive messages - reconnecting", queue_url=self.queue_url, error=str(exc))
                await self.clock.sleep(RECONNECT_DELAY)
                continue
            except Exception as exc:
                self._poll_done.set()
                logger.warning("unable to receive messages - reconnecting", queue_url=self.queue_url, error=str(exc))
                await self.clock.sleep(RECONNECT_DELAY)
                continue
            markers = [message for message in messages if message.get("Body") == DRAIN_MESSAGE_PAYLOAD]
            if markers:
                messages = [message for message in messages if message.get("Body") != DRAIN_MESSAGE_PAYLOAD]
            deliveries = [SqsDelivery(self.client, self.queue_url, message) for message in messages]
            for delivery in deliveries:
                self.on_delivery(delivery)
            if markers:
                # before the poll counts as done: a stopping receiver is cancelled right after
                await self._delete_drain_markers(markers)
            self._poll_done.set()
            if deliveries:
                # FIFO: the next receive must find the group free, so wait for the delete itself (a receive that
                # reaches SQS first would see the group in flight); a standard queue need not wait for it
                fifo = self.queue_url.endswith(".fifo")
                await asyncio.gather(*(delivery.wait_settled(completed=fifo) for delivery in deliveries))

    async def _delete_drain_markers(self, markers: list[dict[str, Any]]) -> None:
        """Whichever receiver gets a drain marker deletes it: it is nobody's message."""
        for marker in markers:
            try:
                await self.client.delete_message(self.queue_url, str(marker.get("ReceiptHandle", "")))
            except Exception as exc:  # it shows again after its visibility timeout and is deleted then
                logger.warning("unable to delete a drain message", queue_url=self.queue_url, error=str(exc))
