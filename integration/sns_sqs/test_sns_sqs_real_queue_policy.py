"""On moto: a redeployed service's queue policy loses the statements for topics it no longer subscribes to (a
hand-written statement stays), and ``sns_kms_master_key_id`` reaches a topic that already exists."""

from __future__ import annotations

import json
from typing import Any

import tomodachi
from tomodachi.envelope import JsonBase
from tomodachi.messaging.sns_sqs.aws_client import AwsSnsSqsClient
from tomodachi.testing.harness import ServiceHarness


class V1(tomodachi.Service):
    name = "policy"
    message_envelope = JsonBase

    @tomodachi.aws_sns_sqs("alpha", queue_name="policy")
    async def on_alpha(self, data: Any) -> None:
        pass


class V2(tomodachi.Service):
    name = "policy"
    message_envelope = JsonBase

    @tomodachi.aws_sns_sqs("beta", queue_name="policy")
    async def on_beta(self, data: Any) -> None:
        pass


async def policy_of(aws: AwsSnsSqsClient, queue: str) -> dict[str, Any]:
    url = str(await aws.get_queue_url(queue))
    return dict(json.loads((await aws.get_queue_attributes(url))["Policy"]))


def sources(policy: dict[str, Any]) -> list[str]:
    return sorted(
        value["aws:SourceArn"].rsplit(":", 1)[-1]
        for statement in policy["Statement"]
        for value in statement.get("Condition", {}).values()
    )


async def test_a_redeployed_service_drops_the_statement_of_a_topic_it_no_longer_subscribes_to(
    harness: ServiceHarness, options: dict[str, Any], prefix: str, aws: AwsSnsSqsClient
) -> None:
    first = await harness.start(V1, options=options)
    await first.stop()
    policy = await policy_of(aws, f"{prefix}policy")
    assert sources(policy) == [f"{prefix}alpha"]
    queue_arn = policy["Statement"][0]["Resource"]
    mine = {
        "Sid": "OpsMayRead",
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
        "Action": "sqs:ReceiveMessage",
        "Resource": queue_arn,
    }
    url = str(await aws.get_queue_url(f"{prefix}policy"))
    await aws.set_queue_attributes(url, {"Policy": json.dumps({**policy, "Statement": [*policy["Statement"], mine]})})

    await harness.start(V2, options=options)

    policy = await policy_of(aws, f"{prefix}policy")
    assert sources(policy) == [f"{prefix}beta"]
    assert mine in policy["Statement"]


class Encrypted(tomodachi.Service):
    name = "encrypted-existing"
    message_envelope = JsonBase

    @tomodachi.aws_sns_sqs("existing-secrets", queue_name="existing-secrets")
    async def on_secret(self, data: Any) -> None:
        pass


async def test_sns_kms_master_key_id_reaches_an_existing_topic(
    harness: ServiceHarness, options: dict[str, Any], prefix: str, aws: AwsSnsSqsClient
) -> None:
    topic_arn = await aws.create_topic(f"{prefix}existing-secrets", {})

    async def kms() -> str | None:
        return (await aws.get_topic_attributes(topic_arn)).get("KmsMasterKeyId")

    svc = await harness.start(Encrypted, options={**options, "aws_sns_sqs.sns_kms_master_key_id": "alias/aws/sns"})
    assert await kms() == "alias/aws/sns"
    await svc.stop()
    await harness.start(Encrypted, options={**options, "aws_sns_sqs.sns_kms_master_key_id": ""})
    assert await kms() is None
