"""trace_id and span_id on the log records made while a span is active, in every kind of record tomodachi renders."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp import web

import tomodachi
from tomodachi import logging as tomodachi_logging
from tomodachi.opentelemetry import log_correlation
from tomodachi.testing import ServiceFactory
from tomodachi.testing.otel import SpanRecorder


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    stream = io.StringIO()
    tomodachi_logging.configure("info", "json", stream=stream)
    yield stream
    tomodachi_logging.remove_handlers()
    root.handlers[:] = handlers
    root.setLevel(level)


def _lines(stream: io.StringIO, message: str) -> list[dict[str, Any]]:
    return [entry for entry in map(json.loads, stream.getvalue().splitlines()) if entry["message"] == message]


class Greeter(tomodachi.Service):
    name = "greeter"
    options = tomodachi.Options(http=tomodachi.Options.HTTP(access_log=False))

    @tomodachi.http("GET", r"/hello")
    async def hello(self, request: web.Request) -> str:
        tomodachi.get_logger().info("saying hello", to="you")
        logging.getLogger("plain.library").warning("a plain record")
        return "hello"


async def test_handler_logs_carry_the_ids_of_the_handlers_span(
    json_lines: io.StringIO, otel_spans: SpanRecorder, tomodachi_service: ServiceFactory
) -> None:
    svc = await tomodachi_service(Greeter)
    await svc.http.get("/hello")

    span = otel_spans.one("GET /hello")
    assert span.context is not None
    [structured] = _lines(json_lines, "saying hello")
    assert structured["to"] == "you"
    assert structured["trace_id"] == f"{span.context.trace_id:032x}"
    assert structured["span_id"] == f"{span.context.span_id:016x}"
    [plain] = _lines(json_lines, "a plain record")
    assert plain["extra"] == {"trace_id": structured["trace_id"], "span_id": structured["span_id"]}


def test_no_ids_outside_a_span_and_none_once_uninstrumented(json_lines: io.StringIO, otel_spans: SpanRecorder) -> None:
    tomodachi.get_logger("outside").info("no span here")
    assert "trace_id" not in _lines(json_lines, "no span here")[0]

    tracer = otel_spans.tracer_provider.get_tracer("test")
    log_correlation.uninstall()
    try:
        with tracer.start_as_current_span("work"):
            tomodachi.get_logger("inside").info("not correlated")
    finally:
        log_correlation.install()
    assert "trace_id" not in _lines(json_lines, "not correlated")[0]


def test_the_ids_a_caller_gave_are_kept(json_lines: io.StringIO, otel_spans: SpanRecorder) -> None:
    tracer = otel_spans.tracer_provider.get_tracer("test")
    with tracer.start_as_current_span("work"):
        tomodachi.get_logger("inside").info("mine", trace_id="given")
    assert _lines(json_lines, "mine")[0]["trace_id"] == "given"


def test_uninstall_restores_the_record_factory_before_it() -> None:
    before = logging.getLogRecordFactory()
    log_correlation.install()
    log_correlation.install()
    assert logging.getLogRecordFactory() is not before
    log_correlation.uninstall()
    assert logging.getLogRecordFactory() is before


def test_a_factory_installed_on_top_keeps_working_after_uninstall() -> None:
    before = logging.getLogRecordFactory()
    log_correlation.install()
    ours = logging.getLogRecordFactory()

    def on_top(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return ours(*args, **kwargs)  # type: ignore[no-any-return]

    logging.setLogRecordFactory(on_top)
    try:
        log_correlation.uninstall()
        record = logging.getLogger("x").makeRecord("x", logging.INFO, __file__, 1, "m", (), None)
        assert not hasattr(record, "trace_id")
        log_correlation.install()  # back on: still once in the chain
        assert logging.getLogRecordFactory() is on_top
    finally:
        logging.setLogRecordFactory(ours)  # the one on top goes away: ours is taken out of the chain again
        log_correlation.uninstall()
    assert logging.getLogRecordFactory() is before
