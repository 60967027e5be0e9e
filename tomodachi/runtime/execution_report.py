"""What the transports of one Environment report through ``tomodachi.get_execution_context()``: enabled transports,
library versions, and the task counters the message pipeline keeps."""

from __future__ import annotations

from collections.abc import Iterable, Mapping


class TaskCounter:
    """Tasks of one transport: running now (``current``) and started since the Environment was made (``total``)."""

    __slots__ = ("current", "total")

    def __init__(self) -> None:
        self.current = 0
        self.total = 0

    def started(self) -> None:
        self.current += 1
        self.total += 1

    def ended(self) -> None:
        self.current -= 1


class ExecutionReport:
    """Kept on the Environment, so nothing on the message path writes process-wide state; the execution
    context folds in the reports of the Environments whose services run in this process when it is read."""

    __slots__ = ("__weakref__", "_counters", "_facts")

    def __init__(self) -> None:
        self._counters: dict[str, TaskCounter] = {}
        self._facts: dict[str, object] = {}

    def counter(self, transport: str) -> TaskCounter:
        """The task counter of ``transport`` (``"amqp"``, ``"aws_sns_sqs"``), created on first use."""
        found = self._counters.get(transport)
        if found is None:
            found = self._counters[transport] = TaskCounter()
        return found

    def enable(self, transport: str, facts: Mapping[str, object]) -> None:
        """``transport`` is in use: ``<transport>_enabled``, its counters from zero, and ``facts`` (versions)."""
        self._facts[f"{transport}_enabled"] = True
        self._facts.update(facts)
        self.counter(transport)

    def values(self) -> dict[str, object]:
        """The keys and values this report adds to the execution context (upstream's names)."""
        values = dict(self._facts)
        for transport, counter in self._counters.items():
            values[f"{transport}_current_tasks"] = counter.current
            values[f"{transport}_total_tasks"] = counter.total
        return values


def combined(reports: Iterable[ExecutionReport]) -> dict[str, object]:
    """The values of several reports as one: counters add up, other facts are equal (the last one wins)."""
    result: dict[str, object] = {}
    for report in reports:
        for key, value in report.values().items():
            earlier = result.get(key)
            if type(value) is int and type(earlier) is int:
                result[key] = earlier + value
            else:
                result[key] = value
    return result
