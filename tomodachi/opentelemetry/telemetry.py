"""What every instrumented handler shares: the service's tracer and meter, its clock (span times and durations read
the service's Environment clock, so a test's spans are in virtual time), metric instruments and the span helpers."""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable, Iterable, Mapping
from traceback import format_exception
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.context import Context
from opentelemetry.metrics import CallbackOptions, Histogram, Meter, NoOpMeterProvider, Observation
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.propagators.textmap import TextMapPropagator
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util.types import AttributeValue

from tomodachi.messaging.broker import environment_of
from tomodachi.runtime.clock import RealClock

SCOPE = "tomodachi"
# the boundaries OpenTelemetry's semantic conventions advise for durations in seconds
DURATION_BOUNDARIES = (0, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10)

Attributes = dict[str, AttributeValue]

# instruments by meter: a second service instance (or a reload) reuses them instead of creating them again, which
# the SDK answers with a warning
_instruments: weakref.WeakKeyDictionary[Meter, dict[str, Any]] = weakref.WeakKeyDictionary()


def clock_ns(service: object) -> Callable[[], int]:
    """Nanoseconds since the epoch on the clock of ``service``'s Environment: the system clock in production, the
    virtual clock in a test (to the microsecond, as the virtual clock keeps time)."""
    clock = environment_of(service).clock
    if type(clock) is RealClock:
        return time.time_ns

    def virtual_ns() -> int:
        return int(round(float(clock.time()) * 1_000_000)) * 1_000

    return virtual_ns


def histogram(meter: Meter, name: str, unit: str, description: str) -> Histogram:
    found = _instruments.setdefault(meter, {}).get(name)
    if found is None:
        try:
            found = meter.create_histogram(
                name, unit=unit, description=description, explicit_bucket_boundaries_advisory=DURATION_BOUNDARIES
            )
        except TypeError:  # an API before bucket advice: the SDK's default buckets
            found = meter.create_histogram(name, unit=unit, description=description)
        _instruments[meter][name] = found
    return found  # type: ignore[no-any-return]


class InFlight:
    """An in-flight count per attribute set, read by the SDK only when it collects (an observable up/down
    counter): starting and finishing a handler costs a dict update instead of two measurements."""

    def __init__(self, keys: tuple[str, ...]) -> None:
        self.keys = keys
        self.counts: dict[tuple[AttributeValue, ...], int] = {}

    def observe(self, options: CallbackOptions) -> Iterable[Observation]:
        # list() copies in one step: the collecting thread never iterates a dict the event loop changes
        return [
            Observation(count, {key: value for key, value in zip(self.keys, values, strict=True) if value != ""})
            for values, count in list(self.counts.items())
        ]


def in_flight(meter: Meter, name: str, unit: str, description: str, keys: tuple[str, ...]) -> InFlight:
    found = _instruments.setdefault(meter, {}).get(name)
    if found is None:
        found = _instruments[meter][name] = InFlight(keys)
        meter.create_observable_up_down_counter(name, callbacks=[found.observe], unit=unit, description=description)
    return found  # type: ignore[no-any-return]


EMPTY = Context()

# propagators that read no header their ``fields`` do not name (others, e.g. Jaeger's ``uberctx-*`` baggage, read
# headers by prefix): only with these alone can a carrier without any of those names be left unparsed
_FIELDS_COMPLETE = (TraceContextTextMapPropagator, W3CBaggagePropagator)


def gating_fields(textmap: TextMapPropagator) -> frozenset[str] | None:
    """The header names whose presence decides whether ``textmap`` can find anything in a carrier; None when
    that cannot be known (any other propagator), and every carrier is parsed."""
    parts = getattr(textmap, "_propagators", None) if isinstance(textmap, CompositePropagator) else [textmap]
    if parts is None or not all(type(part) in _FIELDS_COMPLETE for part in parts):
        return None
    return frozenset(textmap.fields)


def traces(tracer: trace.Tracer) -> bool:
    """Whether ``tracer`` can record a span at all: not when it is a no-op, nor when it samples nothing."""
    if isinstance(tracer, trace.NoOpTracer):
        return False
    sampler = getattr(tracer, "sampler", None)
    return sampler is None or sampler.get_description() != "AlwaysOffSampler"


def measures(provider: object) -> bool:
    """Whether ``provider`` has anywhere to send measurements (an SDK provider without readers has not)."""
    if isinstance(provider, NoOpMeterProvider):
        return False
    # the SDK keeps its readers on the provider (older releases: on its configuration); unknown providers measure
    readers = getattr(provider, "_metric_readers", None)
    if readers is None:
        readers = getattr(getattr(provider, "_sdk_config", None), "metric_readers", None)
    return readers is None or bool(readers)


class Telemetry:
    """One service's tracer, meter and clock; the middlewares of that service share it. ``tracing`` and
    ``metrics`` say whether spans and measurements can be recorded at all: what cannot is not even prepared."""

    def __init__(self, service: object, tracer: trace.Tracer, meter: Meter, *, metrics: bool = True) -> None:
        self.service = service
        self.tracer = tracer
        self.meter = meter
        self.tracing = traces(tracer)
        self.metrics = metrics
        self.now_ns = clock_ns(service)
        self.service_name = str(getattr(service, "name", "") or type(service).__name__)
        self.wrapped_hooks: list[str] = []  # the lifecycle hooks wrapped on the instance (unwrapped at teardown)
        # the headers the configured propagators read: a request or message with none of them is not parsed (None:
        # propagators that may read other headers too, so every one is)
        self.propagation_fields = gating_fields(propagate.get_global_textmap())

    @property
    def enabled(self) -> bool:
        return self.tracing or self.metrics

    def carries_context(self, headers: Mapping[str, object] | None) -> bool:
        """Whether ``headers`` may hold a context for the propagators (only then are they parsed)."""
        if not headers:
            return False
        fields = self.propagation_fields
        if fields is None:
            return True
        for field in fields:
            if field in headers:
                return True
        return False

    def extract(self, headers: Mapping[str, object]) -> Context:
        """The trace context request ``headers`` carry (an empty one when they carry none)."""
        return propagate.extract(headers, context=Context()) if self.carries_context(headers) else EMPTY


class HandlerMetrics:
    """A duration histogram and an in-flight count, each with the attributes it keeps."""

    def __init__(
        self,
        meter: Meter,
        prefix: str,
        description: str,
        keys: tuple[str, ...],
        *,
        duration_name: str | None = None,
        active_name: str | None = None,
        active_unit: str = "{task}",
        active_keys: tuple[str, ...] | None = None,
    ) -> None:
        self.duration = histogram(
            meter, duration_name or f"{prefix}.duration", "s", f"Measures the duration of {description}."
        )
        self.keys = keys
        self.active = in_flight(
            meter,
            active_name or f"{prefix}.active_tasks",
            active_unit,
            f"Measures the number of {description} in flight.",
            active_keys if active_keys is not None else keys,
        )

    def started(self, attributes: Mapping[str, AttributeValue]) -> tuple[AttributeValue, ...]:
        key = tuple(attributes.get(name, "") for name in self.active.keys)
        counts = self.active.counts
        counts[key] = counts.get(key, 0) + 1
        return key

    def finished(
        self,
        active: tuple[AttributeValue, ...],
        attributes: Mapping[str, AttributeValue],
        seconds: float,
        extra: Mapping[str, AttributeValue],
    ) -> None:
        self.active.counts[active] -= 1
        self.duration.record(seconds, {**{key: attributes[key] for key in self.keys if key in attributes}, **extra})


def record_error(span: trace.Span, exc: BaseException) -> None:
    """The handler's exception on its span: an exception event with its stack trace, error status and type."""
    if not span.is_recording():
        return
    stacktrace = "".join(format_exception(type(exc), exc, exc.__traceback__))
    span.record_exception(exc, {"exception.stacktrace": stacktrace}, escaped=True)
    span.set_attribute("error.type", type(exc).__qualname__)
    span.set_status(trace.Status(trace.StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))


__all__ = [
    "DURATION_BOUNDARIES",
    "HandlerMetrics",
    "SCOPE",
    "Telemetry",
    "clock_ns",
    "gating_fields",
    "histogram",
    "measures",
    "record_error",
    "traces",
    "InFlight",
    "in_flight",
]
