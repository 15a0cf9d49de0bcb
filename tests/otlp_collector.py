"""A tiny OTLP/HTTP trace collector for tests: a loopback HTTP server that takes `POST /v1/traces`
(protobuf, as OpenTelemetry's OTLP/HTTP exporter sends it), decodes it with `opentelemetry-proto` and keeps
the spans. Spans of the in-process SDK (an InMemorySpanExporter) convert to the same record, so one trace
can be followed across this process and the processes that export to the collector.

    with otlp_collector() as collector:
        env = {"OTEL_EXPORTER_OTLP_ENDPOINT": collector.url}
"""

from __future__ import annotations

import gzip
import threading
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

# The SpanKind numbers of the OTLP protocol (SPAN_KIND_INTERNAL = 1 …), by name.
KINDS = {1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer"}


@dataclass(frozen=True)
class SpanRecord:
    service: str
    name: str
    trace_id: str  # 32 hex digits
    span_id: str  # 16 hex digits
    parent_id: str  # "" for a root span
    kind: str
    attributes: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


def _value(v: Any) -> Any:
    which = v.WhichOneof("value")
    if which == "array_value":
        return [_value(x) for x in v.array_value.values]
    return getattr(v, which) if which else None


def _decode(body: bytes) -> list[SpanRecord]:
    request = ExportTraceServiceRequest()
    request.ParseFromString(body)
    out: list[SpanRecord] = []
    for rs in request.resource_spans:
        resource = {a.key: _value(a.value) for a in rs.resource.attributes}
        for ss in rs.scope_spans:
            for s in ss.spans:
                out.append(
                    SpanRecord(
                        service=str(resource.get("service.name", "")),
                        name=s.name,
                        trace_id=s.trace_id.hex(),
                        span_id=s.span_id.hex(),
                        parent_id=s.parent_span_id.hex(),
                        kind=KINDS.get(s.kind, "unspecified"),
                        attributes={a.key: _value(a.value) for a in s.attributes},
                    )
                )
    return out


def from_sdk(spans: Iterable[Any]) -> list[SpanRecord]:
    """Finished spans of the in-process SDK (ReadableSpan) as records."""
    return [
        SpanRecord(
            service=str(s.resource.attributes.get("service.name", "")),
            name=s.name,
            trace_id=format(s.context.trace_id, "032x"),
            span_id=format(s.context.span_id, "016x"),
            parent_id=format(s.parent.span_id, "016x") if s.parent else "",
            kind=s.kind.name.lower(),
            attributes=dict(s.attributes or {}),
        )
        for s in spans
    ]


class Collector:
    def __init__(self, url: str) -> None:
        self.url = url  # for OTEL_EXPORTER_OTLP_ENDPOINT; the exporter appends /v1/traces
        self.spans: list[SpanRecord] = []
        self.requests = 0
        self._lock = threading.Lock()

    def add(self, spans: list[SpanRecord]) -> None:
        with self._lock:
            self.spans.extend(spans)
            self.requests += 1

    def received(self) -> list[SpanRecord]:
        with self._lock:
            return list(self.spans)


def _handler(collector: Collector) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            encoding = (self.headers.get("content-encoding") or "").lower()
            if encoding == "gzip":
                body = gzip.decompress(body)
            elif encoding == "deflate":
                body = zlib.decompress(body)
            if self.path != "/v1/traces":
                self.send_error(404, "only /v1/traces is collected here")
                return
            collector.add(_decode(body))
            reply = ExportTraceServiceResponse().SerializeToString()
            self.send_response(200)
            self.send_header("content-type", "application/x-protobuf")
            self.send_header("content-length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *_args: Any) -> None:
            pass

    return Handler


@contextmanager
def otlp_collector() -> Iterator[Collector]:
    collector = Collector("")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(collector))
    collector.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, name="otlp-collector", daemon=True)
    thread.start()
    try:
        yield collector
    finally:
        server.shutdown()
        server.server_close()


# --- reading traces -------------------------------------------------------------------------------


def by_id(spans: Iterable[SpanRecord]) -> dict[str, SpanRecord]:
    return {s.span_id: s for s in spans}


def ancestors(span: SpanRecord, index: dict[str, SpanRecord]) -> list[SpanRecord]:
    """The span's parent, its parent's parent … up to the root (as far as the spans in `index` reach)."""
    chain: list[SpanRecord] = []
    while span.parent_id and span.parent_id in index:
        span = index[span.parent_id]
        chain.append(span)
    return chain
