"""Review follow-ups: malformed attributes from foreign senders, receive-loop crashes, robust stop."""

from __future__ import annotations

from typing import Any

import tomodachi


class AttributeReader(tomodachi.Service):
    name = "attribute-reader"
    got: list[Any]

    def __init__(self) -> None:
        self.got = []

    @tomodachi.aws_sns_sqs(queue_name="followup-attributes")
    async def inbox(self, body: str, message_attributes: dict[str, Any]) -> None:
        self.got.append((body, message_attributes))


async def test_a_malformed_string_array_attribute_reaches_the_handler_raw(
    tomodachi_service: Any, fake_sns_sqs: Any
) -> None:
    svc = await tomodachi_service(AttributeReader)
    queue_url = await fake_sns_sqs.get_queue_url("followup-attributes")
    malformed = {"tags": {"DataType": "String.Array", "StringValue": "[not json"}}
    await fake_sns_sqs.send_message(queue_url, "hello", message_attributes=malformed)
    await fake_sns_sqs.drain()
    assert svc.instance.got == [("hello", {"tags": "[not json"})]
    assert fake_sns_sqs.dead_letters("followup-attributes") == []
