"""Upstream's AWS helpers for code that talks to SNS and SQS itself: ``connector`` (aiobotocore clients by alias,
the transport's aliases carrying the service's AWS settings) and ``AWSSNSSQSTransport.topics`` (topic ARNs by
name)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

import tomodachi
from tomodachi.envelope import JsonBase
from tomodachi.helpers.aiobotocore_connector import ClientConnector, connector, remember_service_credentials
from tomodachi.testing import FakeSnsSqs, ServiceFactory
from tomodachi.transport.aws_sns_sqs import AWSSNSSQSTransport


class AwsSettings:
    options = tomodachi.Options(
        aws_sns_sqs=tomodachi.Options.AWSSNSSQS(
            region_name="eu-north-1", aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret"
        ),
        aws_endpoint_urls=tomodachi.Options.AWSEndpointURLs(sns="http://sns.local:4566", sqs="http://sqs.local:4566"),
    )


@pytest.fixture
async def fresh_connector() -> AsyncIterator[ClientConnector]:
    made = ClientConnector()
    yield made
    await made.close()


def test_the_connector_is_one_object_under_both_import_paths() -> None:
    from tomodachi.transport.aws_sns_sqs import connector as transport_connector

    assert transport_connector is connector


async def test_the_transport_aliases_carry_the_services_settings_for_each_aws_service() -> None:
    try:
        remember_service_credentials(AwsSettings())
        sns, sqs = connector.credentials["tomodachi.sns"], connector.credentials["tomodachi.sqs"]
        assert (sns.region_name, sns.aws_access_key_id, sns.endpoint_url) == (
            "eu-north-1",
            "AKIDEXAMPLE",
            "http://sns.local:4566",
        )
        assert sqs.endpoint_url == "http://sqs.local:4566"
    finally:
        await connector.close()
    assert connector.credentials == {}


async def test_a_transport_alias_gives_its_own_services_client_whatever_service_is_asked(
    fresh_connector: ClientConnector,
) -> None:
    fresh_connector.setup_credentials("tomodachi.sns", {"region_name": "eu-north-1", "endpoint_url": "http://x:1"})
    async with fresh_connector("tomodachi.sns", service_name="sqs") as client:
        assert client.meta.service_model.service_name == "sns"
        assert client.meta.region_name == "eu-north-1"
        assert client.meta.endpoint_url == "http://x:1"
    async with fresh_connector("tomodachi.sns") as again:
        assert again is client  # created once, kept under its alias


async def test_an_alias_of_your_own_names_the_service_to_create(fresh_connector: ClientConnector) -> None:
    async with fresh_connector("reports", {"region_name": "us-east-1"}, service_name="sqs") as client:
        assert client.meta.service_model.service_name == "sqs"
    assert fresh_connector.aliases["reports"] == "sqs"


async def test_rejected_credentials_drop_the_client_so_the_next_use_starts_afresh(
    fresh_connector: ClientConnector,
) -> None:
    fresh_connector.setup_credentials("tomodachi.sqs", {"region_name": "eu-north-1"})
    with pytest.raises(RuntimeError):
        async with fresh_connector("tomodachi.sqs"):
            raise RuntimeError("An error occurred: The security token included in the request is invalid.")
    assert fresh_connector.get_client("tomodachi.sqs") is None


class Publisher(tomodachi.Service):
    name = "publisher"
    message_envelope = JsonBase
    options = tomodachi.Options(aws_sns_sqs=tomodachi.Options.AWSSNSSQS(topic_prefix="shop-"))

    async def _started_service(self) -> None:
        await tomodachi.aws_sns_sqs_publish(self, {"id": 1}, topic="order-placed")


async def test_transport_topics_maps_a_published_topic_to_its_arn_with_or_without_the_prefix(
    tomodachi_service: ServiceFactory, fake_sns_sqs: FakeSnsSqs
) -> None:
    svc = await tomodachi_service(Publisher)
    await fake_sns_sqs.settle()
    arn = AWSSNSSQSTransport.topics.get("order-placed")
    assert arn is not None and arn.startswith("arn:aws:sns:") and arn.endswith(":shop-order-placed")
    assert AWSSNSSQSTransport.topics["shop-order-placed"] == arn
    try:
        AWSSNSSQSTransport.topics.remember([svc.instance])  # what a container does before its services stop
        await svc.stop()
        assert AWSSNSSQSTransport.topics.get("order-placed") == arn  # still known once the service is gone
    finally:
        AWSSNSSQSTransport.topics.forget()
    assert AWSSNSSQSTransport.topics.get("order-placed") is None
