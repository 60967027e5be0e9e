"""The context an HTTP request carries: what the configured propagators read reaches the handler (W3C trace context,
baggage, and a propagator that reads headers its ``fields`` do not name), and a request without any starts a trace."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from aiohttp import web
from opentelemetry import baggage, propagate
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.context import Context
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.propagators.textmap import CarrierT, Getter, Setter, TextMapPropagator, default_getter
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

import tomodachi
from tomodachi.opentelemetry.telemetry import gating_fields
from tomodachi.testing import ServiceFactory
from tomodachi.testing.otel import SpanRecorder

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


class Greeter(tomodachi.Service):
    name = "greeter"
    options = tomodachi.Options(http=tomodachi.Options.HTTP(access_log=False))

    @tomodachi.http("GET", r"/who")
    async def who(self, request: web.Request) -> str:
        return str(baggage.get_baggage("user") or "nobody")


class PrefixedBaggage(TextMapPropagator):
    """Reads baggage from ``ctx-<key>`` headers, as Jaeger's ``uberctx-*`` does: its ``fields`` cannot name them."""

    def extract(
        self, carrier: CarrierT, context: Context | None = None, getter: Getter[CarrierT] = default_getter
    ) -> Context:
        context = context if context is not None else Context()
        for key in getter.keys(carrier):
            if key.lower().startswith("ctx-"):
                values = getter.get(carrier, key)
                if values:
                    context = baggage.set_baggage(key[4:].lower(), values[0], context)
        return context

    def inject(self, carrier: CarrierT, context: Context | None = None, setter: Setter[CarrierT] = ...) -> None:  # type: ignore[assignment]
        return None

    @property
    def fields(self) -> set[str]:
        return set()


@pytest.fixture
def prefixed_baggage() -> Iterator[None]:
    before = propagate.get_global_textmap()
    propagate.set_global_textmap(CompositePropagator([TraceContextTextMapPropagator(), PrefixedBaggage()]))
    try:
        yield
    finally:
        propagate.set_global_textmap(before)


async def test_a_baggage_header_alone_reaches_the_handler(
    otel_spans: SpanRecorder, tomodachi_service: ServiceFactory
) -> None:
    svc = await tomodachi_service(Greeter)
    response = await svc.http.get("/who", headers={"baggage": "user=alice"})
    assert await response.text() == "alice"
    assert otel_spans.one("GET /who").parent is None  # baggage, but no trace to continue


async def test_a_propagator_reading_headers_it_does_not_name_still_gets_them(
    prefixed_baggage: None, otel_spans: SpanRecorder, tomodachi_service: ServiceFactory
) -> None:
    svc = await tomodachi_service(Greeter)
    response = await svc.http.get("/who", headers={"ctx-user": "bob"})
    assert await response.text() == "bob"
    response = await svc.http.get("/who", headers={"traceparent": TRACEPARENT, "ctx-user": "carol"})
    assert await response.text() == "carol"
    [_, continued] = otel_spans.named("GET /who")
    assert continued.parent is not None and f"{continued.parent.span_id:016x}" == "b7ad6b7169203331"


async def test_a_request_without_context_headers_starts_a_trace_of_its_own(
    otel_spans: SpanRecorder, tomodachi_service: ServiceFactory
) -> None:
    svc = await tomodachi_service(Greeter)
    assert await (await svc.http.get("/who")).text() == "nobody"
    span = otel_spans.one("GET /who")
    assert span.parent is None and span.context is not None and span.context.trace_id != 0


def test_only_the_w3c_propagators_let_a_request_without_their_headers_go_unparsed() -> None:
    w3c = CompositePropagator([TraceContextTextMapPropagator(), W3CBaggagePropagator()])
    assert gating_fields(w3c) == frozenset({"traceparent", "tracestate", "baggage"})
    assert gating_fields(TraceContextTextMapPropagator()) == frozenset({"traceparent", "tracestate"})
    assert gating_fields(CompositePropagator([TraceContextTextMapPropagator(), PrefixedBaggage()])) is None
    assert gating_fields(PrefixedBaggage()) is None
