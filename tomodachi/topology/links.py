"""Which subscriptions an observed publish reached, and what nobody consumes or nobody publishes to."""

from __future__ import annotations

from dataclasses import dataclass

from tomodachi.topology.model import Publication, Subscription, Topology


@dataclass(frozen=True)
class Feed:
    """A subscription of a service, as a place messages arrive."""

    service: str
    subscription: Subscription


def reaches(publication: Publication, subscription: Subscription) -> bool:
    """Whether a publish to ``publication.destination`` is routed to ``subscription``'s queue (filter policies
    aside: they decide per message)."""
    if publication.bus != subscription.bus:
        return False
    if publication.kind == "sqs":
        return publication.destination == subscription.queue
    if subscription.source is None:
        return False
    if publication.kind == "amqp":
        from tomodachi.messaging.amqp.memory_records import topic_matches

        return topic_matches(subscription.source, publication.destination)
    if subscription.source == publication.destination:
        return True
    if "*" in subscription.source or "#" in subscription.source:
        from tomodachi.messaging.sns_sqs.naming import encode_topic, wildcard_matcher

        pattern = wildcard_matcher(encode_topic(subscription.source))
        return pattern.fullmatch(encode_topic(publication.destination)) is not None
    return False


def feeds(topology: Topology) -> list[Feed]:
    return [Feed(service.name, sub) for service in topology.services for sub in service.subscriptions]


def feeds_reached(topology: Topology, publication: Publication) -> list[Feed]:
    return [feed for feed in feeds(topology) if reaches(publication, feed.subscription)]


def unconsumed(topology: Topology) -> list[Publication]:
    """Observed publishes no subscription of the known services receives, in first-seen order."""
    if topology.flows is None:
        return []
    return [p for p in topology.flows.published if not feeds_reached(topology, p)]


def unpublished(topology: Topology) -> list[Feed]:
    """Subscriptions no observed publish reached (only meaningful when flows were observed)."""
    if topology.flows is None:
        return []
    published = list(topology.flows.published)
    return [feed for feed in feeds(topology) if not any(reaches(p, feed.subscription) for p in published)]
