"""A service instance used outside any container (built by hand to publish from a script) gets an Environment of
its own, kept on the instance: nothing process-wide is shared between such instances."""

from __future__ import annotations

import tomodachi
from tomodachi.messaging.broker import environment_of, remember_environment
from tomodachi.runtime.clock import RealClock
from tomodachi.runtime.environment import Environment


class Publisher(tomodachi.Service):
    name = "publisher"


def test_an_instance_outside_a_container_keeps_one_environment_of_its_own() -> None:
    first, second = Publisher(), Publisher()
    environment = environment_of(first)
    assert environment_of(first) is environment  # its publishes share one set of brokers
    assert isinstance(environment.clock, RealClock) and environment.broker_factories == {}
    assert environment_of(second) is not environment


def test_the_environment_a_container_remembered_is_the_one_found() -> None:
    service = Publisher()
    environment = Environment()
    remember_environment(service, environment)
    assert environment_of(service) is environment


def test_an_object_without_a_context_dict_keeps_its_environment_as_an_attribute() -> None:
    class Bare:
        pass

    bare = Bare()
    assert environment_of(bare) is environment_of(bare)
