"""HTTP server spans and metrics: one SERVER span per request with the HTTP semantic conventions, continuing a
client's traceparent, errors recorded on the span, http_error handlers as child spans, in virtual time."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web
from opentelemetry.trace import SpanKind, StatusCode

import tomodachi
from tomodachi.testing import ServiceFactory, VirtualClock
from tomodachi.testing.otel import SpanRecorder

CLIENT_TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
CLIENT_SPAN_ID = "b7ad6b7169203331"


class Shop(tomodachi.Service):
    name = "shop"
    options = tomodachi.Options(http=tomodachi.Options.HTTP(access_log=False))

    @tomodachi.http("GET", r"/items/(?P<item>[a-z]+)")
    async def item(self, request: web.Request, item: str) -> tuple[int, str]:
        return 200, item

    @tomodachi.http("POST", r"/items")
    async def create(self, request: web.Request) -> dict[str, Any]:
        return {"status": 201, "body": "created"}

    @tomodachi.http("GET", r"/broken")
    async def broken(self, request: web.Request) -> str:
        raise ValueError("stock count is negative")

    @tomodachi.http("GET", r"/gone")
    async def gone(self, request: web.Request) -> str:
        raise web.HTTPGone()

    @tomodachi.http("GET", r"/health")
    async def health(self, request: web.Request) -> str:
        return "ok"

    @tomodachi.http_error(status_code=404)
    async def not_found(self, request: web.Request) -> tuple[int, str]:
        return 404, "no such thing"


async def test_a_request_is_a_server_span_named_by_method_and_route(
    otel_spans: SpanRecorder, tomodachi_service: ServiceFactory
) -> None:
    svc = await tomodachi_service(Shop)
    response = await svc.http.get("/items/apple?color=red", headers={"User-Agent": "probe/1"})
    assert response.status == 200

    span = otel_spans.one("GET /items/(?P<item>[a-z]+)")
    assert span.kind is SpanKind.SERVER
    assert span.status.status_code is StatusCode.UNSET
    attributes = dict(span.attributes or {})
    assert attributes["http.request.method"] == "GET"
    assert attributes["http.route"] == "/items/(?P<item>[a-z]+)"
    assert attributes["http.response.status_code"] == 200
    assert attributes["url.path"] == "/items/apple"
    assert attributes["url.query"] == "color=red"
    assert attributes["url.scheme"] == "http"
    assert attributes["user_agent.original"] == "probe/1"
    assert attributes["client.address"] == "127.0.0.1"


async def test_the_status_code_comes_from_what_the_handler_returned(
    otel_spans: SpanRecorder, tomodachi_service: ServiceFactory
) -> None:
    svc = await tomodachi_service(Shop)
    assert (await svc.http.post("/items")).status == 201
    assert otel_spans.one("POST /items").attributes["http.response.status_code"] == 201  # type: ignore[index]


async def test_a_client_traceparent_makes_the_request_span_its_child(
    otel_spans: SpanRecorder, tomodachi_service: ServiceFactory
) -> None:
    svc = await tomodachi_service(Shop)
    await svc.http.get("/health", headers={"traceparent": f"00-{CLIENT_TRACE_ID}-{CLIENT_SPAN_ID}-01"})

    span = otel_spans.one("GET /health")
    assert span.context is not None and span.parent is not None
    assert f"{span.context.trace_id:032x}" == CLIENT_TRACE_ID
    assert f"{span.parent.span_id:016x}" == CLIENT_SPAN_ID
    assert span.parent.is_remote


async def test_a_handler_exception_is_recorded_with_error_status_and_500(
    otel_spans: SpanRecorder, tomodachi_service: ServiceFactory
) -> None:
    svc = await tomodachi_service(Shop)
    svc.expect_errors(ValueError)
    assert (await svc.http.get("/broken")).status == 500

    span = otel_spans.one("GET /broken")
    assert span.status.status_code is StatusCode.ERROR
    assert "stock count is negative" in (span.status.description or "")
    assert span.attributes["http.response.status_code"] == 500  # type: ignore[index]
    assert span.attributes["error.type"] == "ValueError"  # type: ignore[index]
    [event] = span.events
    assert event.name == "exception"
    assert event.attributes["exception.type"] == "ValueError"  # type: ignore[index]
    assert "stock count is negative" in event.attributes["exception.stacktrace"]  # type: ignore[index,operator]


async def test_an_http_exception_below_500_sets_its_status_without_an_error(
    otel_spans: SpanRecorder, tomodachi_service: ServiceFactory
) -> None:
    svc = await tomodachi_service(Shop)
    assert (await svc.http.get("/gone")).status == 410

    span = otel_spans.one("GET /gone")
    assert span.attributes["http.response.status_code"] == 410  # type: ignore[index]
    assert span.status.status_code is StatusCode.UNSET


async def test_an_unrouted_request_is_a_server_span_of_its_error_handler(
    otel_spans: SpanRecorder, tomodachi_service: ServiceFactory
) -> None:
    svc = await tomodachi_service(Shop)
    assert (await svc.http.get("/nowhere")).status == 404

    span = otel_spans.one("GET")
    assert span.kind is SpanKind.SERVER
    assert span.attributes["http.response.status_code"] == 404  # type: ignore[index]
    assert "http.route" not in (span.attributes or {})


class Strict(tomodachi.Service):
    name = "strict"
    options = tomodachi.Options(http=tomodachi.Options.HTTP(access_log=False))

    @tomodachi.http("GET", r"/locked")
    async def locked(self, request: web.Request) -> str:
        raise web.HTTPForbidden()

    @tomodachi.http_error(status_code=403)
    async def forbidden(self, request: web.Request) -> tuple[int, str]:
        return 403, "go away"


async def test_an_error_handler_called_for_a_request_is_a_child_of_its_span(
    otel_spans: SpanRecorder, tomodachi_service: ServiceFactory
) -> None:
    svc = await tomodachi_service(Strict)
    assert (await svc.http.get("/locked")).status == 403

    request_span = otel_spans.one("GET /locked")
    error_span = otel_spans.one("http_error 403")
    assert error_span.kind is SpanKind.INTERNAL
    assert error_span.parent is not None and request_span.context is not None
    assert error_span.parent.span_id == request_span.context.span_id
    assert error_span.attributes["code.function"] == "forbidden"  # type: ignore[index]


@pytest.mark.virtual_clock(start="2025-06-01T12:00:00Z")
async def test_span_times_are_the_services_virtual_time(
    otel_spans: SpanRecorder, tomodachi_service: ServiceFactory, virtual_clock: VirtualClock
) -> None:
    svc = await tomodachi_service(Shop)
    await virtual_clock.advance("90 seconds")
    await svc.http.get("/health")

    span = otel_spans.one("GET /health")
    assert span.start_time == span.end_time == int(virtual_clock.time()) * 1_000_000_000


async def test_excluded_paths_get_no_span(monkeypatch: pytest.MonkeyPatch, tomodachi_service: ServiceFactory) -> None:
    from tomodachi.testing.otel import record_spans

    with record_spans(excluded_urls=["/health"]) as spans:
        svc = await tomodachi_service(Shop)
        await svc.http.get("/health")
        await svc.http.get("/items/pear")
        await svc.stop()
    assert spans.names() == ["GET /items/(?P<item>[a-z]+)"]


async def test_request_duration_and_in_flight_metrics(
    otel_spans: SpanRecorder, tomodachi_service: ServiceFactory
) -> None:
    svc = await tomodachi_service(Shop)
    await svc.http.get("/items/apple")
    await svc.http.get("/items/pear")
    svc.expect_errors(ValueError)
    await svc.http.get("/broken")

    durations = {
        (point.attributes["http.route"], point.attributes["http.response.status_code"]): point.count
        for point in otel_spans.metric_points("http.server.duration")
    }
    assert durations == {("/items/(?P<item>[a-z]+)", 200): 2, ("/broken", 500): 1}
    in_flight = otel_spans.metric_points("http.server.active_requests")
    assert in_flight and all(point.value == 0 for point in in_flight)


async def test_with_sampling_off_a_metric_reader_still_gets_the_request_metrics() -> None:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

    from tomodachi.opentelemetry import TomodachiInstrumentor
    from tomodachi.testing import system

    exporter, reader = InMemorySpanExporter(), InMemoryMetricReader()
    tracer_provider = TracerProvider(sampler=ALWAYS_OFF)
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    instrumentor = TomodachiInstrumentor()
    instrumentor.instrument(
        tracer_provider=tracer_provider,
        meter_provider=MeterProvider(metric_readers=[reader], shutdown_on_exit=False),
        skip_dep_check=True,
    )
    try:
        async with system(Shop) as running:
            await running.service("shop").http.get("/health")
    finally:
        instrumentor.uninstrument()
    assert exporter.get_finished_spans() == ()
    data = reader.get_metrics_data()
    assert data is not None
    names = {metric.name for rm in data.resource_metrics for sm in rm.scope_metrics for metric in sm.metrics}
    assert {"http.server.duration", "http.server.active_requests"} <= names


async def test_with_sampling_off_a_request_answered_by_its_error_handler_is_measured_once() -> None:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

    from tomodachi.opentelemetry import TomodachiInstrumentor
    from tomodachi.testing import system

    reader = InMemoryMetricReader()
    instrumentor = TomodachiInstrumentor()
    instrumentor.instrument(
        tracer_provider=TracerProvider(sampler=ALWAYS_OFF),
        meter_provider=MeterProvider(metric_readers=[reader], shutdown_on_exit=False),
        skip_dep_check=True,
    )
    try:
        async with system(Strict) as running:
            assert (await running.service("strict").http.get("/locked")).status == 403
    finally:
        instrumentor.uninstrument()
    data = reader.get_metrics_data()
    assert data is not None
    [durations] = [
        metric
        for rm in data.resource_metrics
        for sm in rm.scope_metrics
        for metric in sm.metrics
        if metric.name == "http.server.duration"
    ]
    [point] = durations.data.data_points
    assert point.count == 1  # type: ignore[union-attr]
    assert point.attributes is not None and point.attributes["http.response.status_code"] == 403
