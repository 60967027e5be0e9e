"""On a FIFO queue the SQS receive loop asks for the next batch only once the previous batch's settle requests
have completed (a long poll that starts while a DeleteMessage is still on its way can stall the group for the
whole poll); on a standard queue it goes on as soon as the batch is settled, the delete still in flight."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tomodachi.messaging.broker import Delivery
from tomodachi.messaging.sns_sqs.consumer import SqsReceiver
from tomodachi.testing import VirtualClock


class SlowDeleteSqs:
    """Hands out one message, then long-polls forever; its DeleteMessage completes only when released."""

    def __init__(self) -> None:
        self.log: list[str] = []
        self.delete_started = asyncio.Event()
        self.release_delete = asyncio.Event()
        self.delivered = False

    async def receive_messages(self, queue_url: str, max_messages: int, wait_seconds: float) -> list[dict[str, Any]]:
        self.log.append("receive")
        if not self.delivered:
            self.delivered = True
            return [{"MessageId": "m-1", "ReceiptHandle": "r-1", "Body": "x", "Attributes": {}}]
        await asyncio.Event().wait()
        return []

    async def delete_message(self, queue_url: str, receipt_handle: str) -> None:
        self.log.append("delete started")
        self.delete_started.set()
        await self.release_delete.wait()
        self.log.append("delete done")


async def receive_log(queue_url: str) -> list[str]:
    """What the receiver did, in order, around one message whose DeleteMessage is held until checked."""
    client = SlowDeleteSqs()
    clock = VirtualClock()
    acks: list[asyncio.Task[None]] = []

    def on_delivery(delivery: Delivery) -> None:
        acks.append(asyncio.get_running_loop().create_task(delivery.ack()))

    receiver = SqsReceiver(client, queue_url, on_delivery, clock=clock)  # type: ignore[arg-type]
    receiver.start()
    await asyncio.wait_for(client.delete_started.wait(), timeout=5)
    await clock.settle()  # every ready callback runs: a receive started now would be logged
    client.log.append("delete released")
    client.release_delete.set()
    await asyncio.gather(*acks)
    await clock.settle()
    await receiver.cancel()
    return client.log


async def test_on_a_fifo_queue_the_next_receive_waits_until_the_batch_is_deleted() -> None:
    log = await receive_log("https://sqs/orders.fifo")
    assert log == ["receive", "delete started", "delete released", "delete done", "receive"]


async def test_on_a_standard_queue_the_next_receive_does_not_wait_for_the_delete_request() -> None:
    log = await receive_log("https://sqs/orders")
    assert log == ["receive", "delete started", "receive", "delete released", "delete done"]


async def test_handing_back_a_message_whose_visibility_timeout_ended_succeeds_and_a_delayed_retry_does_not() -> None:
    from tomodachi.messaging.sns_sqs.client import AwsApiError
    from tomodachi.messaging.sns_sqs.consumer import SqsDelivery
    from tomodachi.messaging.sns_sqs.memory import MemorySnsSqsClient

    clock = VirtualClock()
    client = MemorySnsSqsClient(clock)
    url = await client.create_queue("jobs", {"VisibilityTimeout": "30"})
    await client.send_message(url, "job")
    [message] = await client.receive_messages(url, 1, 0)
    await clock.advance(31)  # the handler ran past the visibility timeout: the message is visible again

    await SqsDelivery(client, url, message).retry(0)  # handing it back: already done, no error

    again = await client.receive_messages(url, 1, 0)
    assert [m["Body"] for m in again] == ["job"]
    with pytest.raises(AwsApiError, match="ReceiptHandleIsInvalid"):
        await SqsDelivery(client, url, message).retry(60)  # an old receipt handle cannot delay the new receive
