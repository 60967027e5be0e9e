"""The queue policy tomodachi keeps on a queue: statements for the topics the service subscribes it to (and only
those), recognised by their Sid so that statements anyone else wrote are left alone; wildcard patterns no wider
than the topic matcher where IAM's glob can say it; the topics' account and region taken from the queue's ARN."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tomodachi
from tomodachi.envelope import JsonBase
from tomodachi.messaging.sns_sqs import naming, setup
from tomodachi.messaging.sns_sqs.descriptors import SnsPublication, SnsSqsSubscription
from tomodachi.messaging.sns_sqs.exceptions import AWSSNSSQSException
from tomodachi.messaging.sns_sqs.memory import MemorySnsSqsBroker, MemorySnsSqsClient
from tomodachi.testing import FakeSnsSqs, ServiceFactory
from tomodachi.testing.clock import VirtualClock

PREFIX = "arn:aws:sns:us-east-1:000000000000:"


def new_broker() -> MemorySnsSqsBroker:
    return MemorySnsSqsBroker(VirtualClock(freeze_wall_clock=False))


def statements(broker: MemorySnsSqsBroker, queue: str) -> list[dict[str, Any]]:
    policy = broker.queue_attributes(queue).get("Policy")
    return list(json.loads(policy)["Statement"]) if policy else []


def sources(broker: MemorySnsSqsBroker, queue: str) -> list[str]:
    found = []
    for statement in statements(broker, queue):
        for condition in statement.get("Condition", {}).values():
            found.append(condition["aws:SourceArn"])
    return sorted(found)


async def delivered(broker: MemorySnsSqsBroker, topic: str) -> list[str]:
    """Publish to ``topic`` (created if missing); the queues SNS delivered the message to."""
    arn = await broker.aws.create_topic(topic, {})
    await broker.aws.sns_publish(arn, "hello")
    return list(broker.published[-1].delivered_to)


def legacy_statement(queue_arn: str, source_arn: str) -> dict[str, Any]:
    """A statement as earlier versions (and upstream tomodachi) wrote it: random uuid4 + epoch milliseconds."""
    return {
        "Sid": f"{uuid.uuid4()}{int(time.time() * 1000)}",
        "Effect": "Allow",
        "Principal": "*",
        "Action": "SQS:SendMessage",
        "Resource": queue_arn,
        "Condition": {"ArnEquals": {"aws:SourceArn": source_arn}},
    }


async def set_policy(broker: MemorySnsSqsBroker, queue: str, *written: dict[str, Any]) -> str:
    url = await broker.aws.create_queue(queue, {})
    policy = {"Version": "2012-10-17", "Id": "mine", "Statement": list(written)}
    await broker.aws.set_queue_attributes(url, {"Policy": json.dumps(policy)})
    return broker.queue_attributes(queue)["QueueArn"]


# ---- statements for topics no longer subscribed ---------------------------------------------------------


async def test_a_topic_no_longer_subscribed_loses_its_statement_on_set_up() -> None:
    broker = new_broker()
    await broker.declare(SnsSqsSubscription(queue_name="q", topic="alpha"))
    assert await delivered(broker, "alpha") == ["q"]

    await broker.declare(SnsSqsSubscription(queue_name="q", topic="beta"))  # the next deploy subscribes to beta

    assert sources(broker, "q") == [f"{PREFIX}beta"]
    assert [s.topic for s in broker.subscriptions()] == ["alpha", "beta"]  # the SNS subscription stays...
    assert await delivered(broker, "alpha") == []  # ...but alpha may no longer send to the queue
    assert await delivered(broker, "beta") == ["q"]


async def test_statements_not_written_by_tomodachi_are_kept() -> None:
    broker = new_broker()
    queue_arn = "arn:aws:sqs:us-east-1:000000000000:q"
    own = [
        {"Sid": "OpsMayRead", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::000000000000:role/ops"},
         "Action": "sqs:ReceiveMessage", "Resource": queue_arn},
        {"Sid": "AllowAlpha", "Effect": "Allow", "Principal": "*", "Action": "SQS:SendMessage",
         "Resource": queue_arn, "Condition": {"ArnEquals": {"aws:SourceArn": f"{PREFIX}alpha"}}},
        {"Sid": f"topic-subscription-{PREFIX}audit", "Effect": "Allow", "Principal": {"AWS": "*"},
         "Action": "SQS:SendMessage", "Resource": queue_arn,
         "Condition": {"ArnLike": {"aws:SourceArn": f"{PREFIX}audit"}}},
    ]  # fmt: skip
    await set_policy(broker, "q", *own)

    await broker.declare(SnsSqsSubscription(queue_name="q", topic="beta"))
    await broker.declare(SnsSqsSubscription(queue_name="q", topic="gamma"))  # beta is no longer subscribed

    kept = statements(broker, "q")
    assert kept[:3] == own  # untouched, in their place
    assert sources(broker, "q") == sorted([f"{PREFIX}alpha", f"{PREFIX}audit", f"{PREFIX}gamma"])
    assert json.loads(broker.queue_attributes("q")["Policy"])["Id"] == "mine"


async def test_our_statements_carry_a_distinctive_sid() -> None:
    broker = new_broker()
    await broker.declare(SnsSqsSubscription(queue_name="q", topic="alpha"))
    [statement] = statements(broker, "q")
    assert statement["Sid"].startswith("tomodachi-sns-")
    await broker.declare(SnsSqsSubscription(queue_name="q", topic="alpha"))
    assert statements(broker, "q") == [statement]  # set up again: nothing changes


async def test_statements_written_by_earlier_versions_are_recognised() -> None:
    broker = new_broker()
    queue_arn = "arn:aws:sqs:us-east-1:000000000000:q"
    stale = legacy_statement(queue_arn, f"{PREFIX}alpha")
    wide_wildcard = legacy_statement(queue_arn, f"{PREFIX}beta*")  # earlier versions' wildcard pattern
    still_wanted = legacy_statement(queue_arn, f"{PREFIX}beta")
    lookalike = {**legacy_statement(queue_arn, f"{PREFIX}alpha"), "Principal": {"AWS": "arn:aws:iam::1:root"}}
    await set_policy(broker, "q", stale, wide_wildcard, still_wanted, lookalike)

    await broker.declare(SnsSqsSubscription(queue_name="q", topic="beta"))

    # a statement of that shape for a topic no longer subscribed goes; the one still wanted stays (no duplicate);
    # one that differs from what earlier versions wrote (another principal) is not ours to remove
    assert statements(broker, "q") == [still_wanted, lookalike]


async def test_a_changed_queue_policy_option_replaces_its_statement() -> None:
    broker = new_broker()
    everything = f"{PREFIX}*"
    await broker.declare(SnsSqsSubscription(queue_name="q", topic="alpha", queue_policy_source_arn=everything))
    assert sources(broker, "q") == [everything]
    assert await delivered(broker, "other") == []  # not subscribed: the policy alone delivers nothing

    await broker.declare(SnsSqsSubscription(queue_name="q", topic="alpha"))  # option removed

    assert sources(broker, "q") == [f"{PREFIX}alpha"]


async def test_a_queue_left_without_topics_loses_our_statements() -> None:
    broker = new_broker()
    await broker.declare(SnsSqsSubscription(queue_name="q", topic="alpha"))
    await broker.declare(SnsSqsSubscription(queue_name="q"))  # now a topic-less queue
    assert "Policy" not in broker.queue_attributes("q")


class SharedV1(tomodachi.Service):
    name = "shared-policy"
    message_envelope = JsonBase

    def __init__(self) -> None:
        self.got: list[tuple[str, Any]] = []

    @tomodachi.aws_sns_sqs("alpha", queue_name="shared")
    async def on_alpha(self, data: Any, topic: str) -> None:
        self.got.append((topic, data))

    @tomodachi.aws_sns_sqs("beta", queue_name="shared")
    async def on_beta(self, data: Any, topic: str) -> None:
        self.got.append((topic, data))


class SharedV2(tomodachi.Service):
    name = "shared-policy"
    message_envelope = JsonBase

    def __init__(self) -> None:
        self.got: list[tuple[str, Any]] = []

    @tomodachi.aws_sns_sqs("beta", queue_name="shared")
    async def on_beta(self, data: Any, topic: str) -> None:
        self.got.append((topic, data))


async def test_handlers_sharing_a_queue_keep_each_others_statements_until_one_is_gone(
    tomodachi_service: ServiceFactory, fake_sns_sqs: FakeSnsSqs
) -> None:
    first = await tomodachi_service(SharedV1)
    policy_sources = [f"{PREFIX}alpha", f"{PREFIX}beta"]
    assert sources(fake_sns_sqs.broker, "shared") == policy_sources
    await fake_sns_sqs.publish("alpha", 1)
    await fake_sns_sqs.publish("beta", 2)
    await fake_sns_sqs.settle()
    assert sorted(first.instance.got) == [("alpha", 1), ("beta", 2)]
    await first.stop()

    second = await tomodachi_service(SharedV2)  # the next deploy: alpha's handler is gone

    assert sources(fake_sns_sqs.broker, "shared") == [f"{PREFIX}beta"]
    assert (await fake_sns_sqs.publish("alpha", 3)).delivered_to == ()
    await fake_sns_sqs.publish("beta", 4)
    await fake_sns_sqs.settle()
    assert second.instance.got == [("beta", 4)]


# ---- wildcard patterns ------------------------------------------------------------------------------------


async def test_wildcard_policy_refuses_topics_the_matcher_refuses() -> None:
    broker = new_broker()
    pattern = naming.sns_topic_name("orders.*.created")
    for topic in ("orders.eu.created", "orders.eu.deleted", "orders.created"):
        await broker.aws.create_topic(naming.sns_topic_name(topic), {})
    declared = await broker.declare(SnsSqsSubscription(queue_name="w", topic=pattern))
    assert sources(broker, "w") == [f"{PREFIX}orders___2e_*___2e_created"]

    # someone subscribes the queue to topics outside the wildcard: the policy does not let them deliver
    for topic in ("orders.eu.deleted", "orders.created"):
        arn = str(await broker.aws.find_topic(naming.sns_topic_name(topic)))
        await broker.aws.subscribe(arn, declared.arn, {})
        assert await delivered(broker, naming.sns_topic_name(topic)) == []
    assert await delivered(broker, naming.sns_topic_name("orders.eu.created")) == ["w"]


SEGMENTS = st.text(alphabet="ab.", min_size=1, max_size=6)
PATTERNS = st.text(alphabet="ab.*#", min_size=1, max_size=6).filter(naming.is_wildcard)


def policy_allows(pattern: str, topic: str) -> bool:
    """Whether the queue policy a wildcard subscription to ``pattern`` writes lets ``topic`` deliver (the topic
    is subscribed to the queue by hand, so the policy alone decides)."""

    async def run() -> bool:
        broker = new_broker()
        arn = await broker.aws.create_topic(topic, {})
        declared = await broker.declare(SnsSqsSubscription(queue_name="w", topic=pattern))
        await broker.aws.subscribe(arn, declared.arn, {})
        await broker.aws.sns_publish(arn, "hello")
        return broker.published[-1].delivered_to == ["w"]

    return asyncio.run(run())


@settings(max_examples=300, deadline=None)
@given(pattern=PATTERNS, topic=SEGMENTS)
def test_wildcard_policy_allows_exactly_the_matcher_with_star_read_as_hash(pattern: str, topic: str) -> None:
    """IAM's ``ArnLike`` has ``*`` (any run) and ``?`` (one character) only. A ``#`` (any run) is exactly ``*``;
    a ``*`` (any run without an encoded ``.``) cannot be said, so the policy reads it as ``#``: that is the
    whole difference, and the policy never refuses a topic the matcher accepts."""
    encoded_pattern, encoded_topic = naming.encode_topic(pattern), naming.encode_topic(topic)
    allowed = policy_allows(encoded_pattern, encoded_topic)
    matched = naming.wildcard_matcher(encoded_pattern).fullmatch(encoded_topic) is not None
    as_hash = naming.wildcard_matcher(encoded_pattern.replace("*", "#")).fullmatch(encoded_topic) is not None
    assert allowed == as_hash
    assert allowed or not matched
    if "*" not in pattern:
        assert allowed == matched


# ---- the topics' account and region -----------------------------------------------------------------------


class ArnReporting(MemorySnsSqsClient):
    """Reports another QueueArn than the one it made (an odd endpoint)."""

    def __init__(self, queue_arn: str) -> None:
        super().__init__(VirtualClock(freeze_wall_clock=False))
        self.reported_arn = queue_arn

    async def get_queue_attributes(self, queue_url: str) -> dict[str, str]:
        return {**(await super().get_queue_attributes(queue_url)), "QueueArn": self.reported_arn}


def arn_reporting(queue_arn: str) -> MemorySnsSqsBroker:
    return MemorySnsSqsBroker(aws=ArnReporting(queue_arn))


@pytest.mark.parametrize(
    "queue_arn",
    [
        "not-an-arn",
        "w",
        "arn:aws:sqs:us-east-1::w",
        "arn:aws:sqs::000000000000:w",
        "arn:aws:sqs:*:*:w",
        "arn:aws:sqs:us-east-1:00000000000?:w",
        "arn:aws:sns:us-east-1:000000000000:w",
        "arn::sqs:us-east-1:000000000000:w",
    ],
)
async def test_an_unparsable_queue_arn_is_an_error_not_a_wildcard_account(queue_arn: str) -> None:
    broker = arn_reporting(queue_arn)
    with pytest.raises(AWSSNSSQSException, match="queue ARN"):
        await broker.declare(SnsSqsSubscription(queue_name="w", topic="events___2e_*"))
    assert "Policy" not in broker.queue_attributes("w")
    with pytest.raises(ValueError, match="queue ARN"):
        naming.sns_arn_prefix(queue_arn)


async def test_topic_arns_take_partition_region_and_account_from_the_queue_arn() -> None:
    broker = arn_reporting("arn:aws-cn:sqs:cn-north-1:123456789012:w")
    await broker.declare(SnsSqsSubscription(queue_name="w", topic="events___2e_*"))
    assert sources(broker, "w") == ["arn:aws-cn:sns:cn-north-1:123456789012:events___2e_*"]


# ---- sns_kms_master_key_id on existing topics ------------------------------------------------------------


async def topic_kms(broker: MemorySnsSqsBroker, topic: str) -> str | None:
    return (await broker.aws.get_topic_attributes(str(await broker.aws.find_topic(topic)))).get("KmsMasterKeyId")


async def test_sns_kms_master_key_id_is_applied_to_an_existing_topic() -> None:
    broker = new_broker()
    await broker.aws.create_topic("t", {})

    async def declare(kms: Any) -> str | None:
        await broker.declare(SnsSqsSubscription(queue_name="q", topic="t", sns_kms_master_key_id=kms))
        return await topic_kms(broker, "t")

    assert await declare("alias/aws/sns") == "alias/aws/sns"
    assert await declare(None) == "alias/aws/sns"  # None: left alone
    assert await declare("") is None  # "": encryption off
    assert await declare("alias/other") == "alias/other"
    assert await declare(False) is None  # False: encryption off


async def test_a_publish_applies_sns_kms_master_key_id_to_an_existing_topic() -> None:
    broker = new_broker()
    await broker.aws.create_topic("p", {"KmsMasterKeyId": "alias/old"})
    await setup.publish(broker.aws, SnsPublication(topic="p", message="m", sns_kms_master_key_id="alias/new"), {})
    assert await topic_kms(broker, "p") == "alias/new"
    await setup.publish(broker.aws, SnsPublication(topic="p", message="m", sns_kms_master_key_id=""), {})
    assert await topic_kms(broker, "p") is None


async def test_the_in_memory_sns_refuses_to_change_what_sns_does_not_let_change() -> None:
    from tomodachi.messaging.sns_sqs.client import AwsApiError

    broker = new_broker()
    arn = await broker.aws.create_topic("t", {"KmsMasterKeyId": "alias/k"})
    await broker.aws.set_topic_attributes(arn, "KmsMasterKeyId", "")
    assert "KmsMasterKeyId" not in await broker.aws.get_topic_attributes(arn)
    for name in ("FifoTopic", "TopicArn"):
        with pytest.raises(AwsApiError, match="InvalidParameter"):
            await broker.aws.set_topic_attributes(arn, name, "true")


class Encrypted(tomodachi.Service):
    name = "encrypted"
    message_envelope = JsonBase

    @tomodachi.aws_sns_sqs("secrets", queue_name="secrets")
    async def on_secret(self, data: Any) -> None:
        pass


async def test_the_sns_kms_option_reaches_a_topic_that_already_exists(
    tomodachi_service: ServiceFactory, fake_sns_sqs: FakeSnsSqs
) -> None:
    await fake_sns_sqs.broker.aws.create_topic("secrets", {})
    await tomodachi_service(Encrypted, options={"aws_sns_sqs.sns_kms_master_key_id": "alias/aws/sns"})
    assert await topic_kms(fake_sns_sqs.broker, "secrets") == "alias/aws/sns"


# ---- the in-memory SQS reads queue policies as IAM does ----------------------------------------------------

QUEUE_ARN = "arn:aws:sqs:us-east-1:000000000000:q"


def allow(source: str, operator: str = "ArnLike", **overrides: Any) -> dict[str, Any]:
    return {
        "Effect": "Allow",
        "Principal": "*",
        "Action": "SQS:SendMessage",
        "Resource": QUEUE_ARN,
        "Condition": {operator: {"aws:SourceArn": source}},
        **overrides,
    }


@pytest.mark.parametrize(
    ("statement", "source", "allowed"),
    [
        (allow(f"{PREFIX}a*"), f"{PREFIX}abc", True),
        (allow(f"{PREFIX}a?c", "ArnEquals"), f"{PREFIX}abc", True),  # ArnEquals takes wildcards too
        (allow(f"{PREFIX}a[b]c"), f"{PREFIX}abc", False),  # no character classes: "[" is itself
        (allow("arn:aws:sns:*:000000000000:abc"), f"{PREFIX}abc", True),
        (allow("arn:aws:sns:us-*"), f"{PREFIX}abc", False),  # a wildcard stays inside its part of the ARN
        (allow(f"{PREFIX}abc", Principal={"Service": "sns.amazonaws.com"}), f"{PREFIX}abc", True),
        (allow(f"{PREFIX}abc", Principal={"AWS": "arn:aws:iam::000000000000:root"}), f"{PREFIX}abc", False),
        (allow(f"{PREFIX}abc", Resource="arn:aws:sqs:us-east-1:000000000000:other"), f"{PREFIX}abc", False),
        (allow(f"{PREFIX}abc", Action=["sqs:ReceiveMessage"]), f"{PREFIX}abc", False),
        (allow(f"{PREFIX}abc", Condition={"StringEquals": {"aws:SourceAccount": "0"}}), f"{PREFIX}abc", False),
        (allow(f"{PREFIX}abc", Condition={"ArnNotLike": {"aws:SourceArn": f"{PREFIX}a*"}}), f"{PREFIX}abc", False),
    ],
)
def test_the_in_memory_sqs_reads_a_queue_policy_as_iam_does(
    statement: dict[str, Any], source: str, allowed: bool
) -> None:
    from tomodachi.messaging.sns_sqs import iam

    assert iam.sns_may_send(json.dumps({"Statement": [statement]}), QUEUE_ARN, source) is allowed


def test_in_a_queue_policy_a_deny_wins() -> None:
    from tomodachi.messaging.sns_sqs import iam

    deny = {**allow(f"{PREFIX}abc"), "Effect": "Deny"}
    assert iam.sns_may_send(json.dumps({"Statement": [allow(f"{PREFIX}*"), deny]}), QUEUE_ARN, f"{PREFIX}abc") is False
    assert iam.sns_may_send(json.dumps({"Statement": allow(f"{PREFIX}*")}), QUEUE_ARN, f"{PREFIX}abc") is True
    assert iam.sns_may_send(None, QUEUE_ARN, f"{PREFIX}abc") is False
