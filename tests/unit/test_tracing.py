"""Tracing off costs nothing, and on, log lines inside a span carry its trace and span id.
(The traces across real processes: tests/integration/test_tracing.py.)"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from enclave import tracing


@pytest.fixture
def no_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (*tracing.ENDPOINT_VARS, "OTEL_SDK_DISABLED"):
        monkeypatch.delenv(name, raising=False)


def test_without_an_endpoint_tracing_stays_off_and_every_helper_is_a_shared_no_op(no_endpoint: None) -> None:
    assert tracing.configure_tracing("gateway") is False
    assert not tracing.enabled()
    assert tracing.span("embed") is tracing.span("index.query")  # one reusable null context
    windows = iter([1, 2])
    assert tracing.spanned_steps("parse", windows) is windows

    def job() -> None: ...

    assert tracing.bind(job) is job
    assert tracing.message_headers() is None
    client = object()
    assert tracing.instrument_http_client(client) is client


def test_the_sdk_switch_wins_over_an_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")
    assert tracing.requested()
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    assert not tracing.requested()
    assert tracing.configure_tracing("worker") is False


@pytest.fixture
def root_stream() -> Iterator[io.StringIO]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    yield out
    root.removeHandler(handler)


def test_a_line_logged_inside_a_span_ends_with_its_trace_and_span_id(root_stream: io.StringIO) -> None:
    exporter = InMemorySpanExporter()
    log = logging.getLogger("enclave.test")
    log.setLevel(logging.INFO)
    assert tracing.configure_tracing("gateway", SimpleSpanProcessor(exporter))
    try:
        with tracing.span("ingest.document"):
            log.info("document d1 ready: 3 chunks")
        log.info("between requests")
    finally:
        tracing.shutdown()
    log.info("tracing off")
    (span,) = exporter.get_finished_spans()
    ids = f"trace_id={span.context.trace_id:032x} span_id={span.context.span_id:016x}"
    lines = root_stream.getvalue().splitlines()
    assert f"INFO enclave.test: document d1 ready: 3 chunks {ids}" in lines
    assert "INFO enclave.test: between requests" in lines  # outside a span: the line as it was
    assert "INFO enclave.test: tracing off" in lines
    assert not isinstance(logging.getLogger().handlers[-1].formatter, tracing.TraceFormatter)
