"""OpenTelemetry tracing, off unless OTEL_EXPORTER_OTLP_ENDPOINT is set: this process's tracer, spans around
the stages of a request or an ingested document, the trace context carried over HTTP and Celery messages,
and the trace and span id in every log line written inside a span.

Off, every helper returns a shared no-op (a reusable null context, the function or iterator unchanged,
None), so a request does no tracing work; OpenTelemetry itself is imported only when tracing is turned on.
"""

from __future__ import annotations

import contextvars
import functools
import logging
import os
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any, TypeVar

T = TypeVar("T")
ENDPOINT_VARS = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
# Health probes and scrapes would drown the traces that matter.
UNTRACED_URLS = "healthz,readyz,metrics,v1/health"
_OFF: AbstractContextManager[Any] = nullcontext()
_END: Any = object()  # the end of an iterator, told apart from any item
log = logging.getLogger(__name__)


class _State:
    provider: Any = None  # the SDK TracerProvider while tracing is on
    tracer: Any = None
    global_set = False  # the API's global provider can be set once per process
    log_factory: Callable[..., logging.LogRecord] | None = None  # the record factory before ours
    formatters: list[tuple[logging.Handler, logging.Formatter | None]] = []


_state = _State()


def requested() -> bool:
    """Whether the environment asks for tracing (an OTLP endpoint, and the SDK not disabled)."""
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    return any(os.environ.get(name, "").strip() for name in ENDPOINT_VARS)


def enabled() -> bool:
    return _state.tracer is not None


def configure_tracing(service_name: str, processor: Any = None) -> bool:
    """Turns tracing on for this process as `service_name` (gateway, worker, embedder): spans go in batches
    over OTLP/HTTP to OTEL_EXPORTER_OTLP_ENDPOINT (the exporter reads the other OTEL_EXPORTER_OTLP_*
    variables itself). `processor` (tests: a SimpleSpanProcessor over an InMemorySpanExporter) replaces
    the exporter. Without an endpoint or a processor it does nothing and returns False."""
    if processor is None and not requested():
        return False
    from opentelemetry import trace
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider

    shutdown()
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: service_name}))
    if processor is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        processor = BatchSpanProcessor(OTLPSpanExporter())
        if not _state.global_set:  # libraries that ask the global API find the same provider
            trace.set_tracer_provider(provider)
            _state.global_set = True
    provider.add_span_processor(processor)
    _state.provider, _state.tracer = provider, provider.get_tracer("enclave")
    _correlate_logs()
    log.info("tracing on: service %s", service_name)
    return True


def shutdown() -> None:
    """Flushes what is pending and turns tracing off again (process exit; tests)."""
    provider, _state.provider, _state.tracer = _state.provider, None, None
    if _state.log_factory is not None:
        logging.setLogRecordFactory(_state.log_factory)
        _state.log_factory = None
    for handler, formatter in _state.formatters:
        handler.setFormatter(formatter)
    _state.formatters = []
    if provider is not None:
        provider.shutdown()


# --- spans ----------------------------------------------------------------------------------------


def span(name: str, kind: str = "internal", **attributes: Any) -> AbstractContextManager[Any]:
    """A span around one stage, current while the block runs (its value is None when tracing is off)."""
    tracer = _state.tracer
    if tracer is None:
        return _OFF
    from opentelemetry.trace import SpanKind

    return tracer.start_as_current_span(name, kind=SpanKind[kind.upper()], attributes=attributes or None)


def spanned_steps(name: str, source: Iterator[T], **attributes: Any) -> Iterator[T]:
    """`source`, each of its steps (the wait for the next item) in a span of its own."""
    if _state.tracer is None:
        return source
    return _steps(name, source, attributes)


def _steps(name: str, source: Iterator[T], attributes: dict[str, Any]) -> Iterator[T]:
    while True:
        with span(name, **attributes):
            item = next(source, _END)
        if item is _END:
            return
        yield item


def spanned_stream(name: str, source: AsyncIterator[T], **attributes: Any) -> AsyncIterator[T]:
    """`source` iterated inside one span that lasts until it ends. The span is current only around each
    step: a streamed response resumes in another task, where a context set earlier cannot be reset."""
    tracer = _state.tracer
    if tracer is None:
        return source
    return _stream(tracer.start_span(name, attributes=attributes or None), source)


async def _stream(current: Any, source: AsyncIterator[T]) -> AsyncIterator[T]:
    from opentelemetry.trace import use_span

    try:
        while True:
            with use_span(current, end_on_exit=False):
                item = await anext(source, _END)
            if item is _END:
                return
            yield item
    finally:
        current.end()
        aclose = getattr(source, "aclose", None)
        if aclose is not None:
            await aclose()


# --- context across threads, HTTP and messages ----------------------------------------------------


def bind(fn: Callable[..., T]) -> Callable[..., T]:
    """`fn`, to run on another thread in the caller's trace context (unchanged when tracing is off)."""
    if _state.tracer is None:
        return fn
    return functools.partial(contextvars.copy_context().run, fn)


def message_headers() -> dict[str, str] | None:
    """The current trace context as message headers (`traceparent`), or None when tracing is off."""
    if _state.tracer is None:
        return None
    from opentelemetry.propagate import inject

    headers: dict[str, str] = {}
    inject(headers)
    return headers or None


@contextmanager
def _attached(lookup: Callable[[str], Any]) -> Iterator[None]:
    from opentelemetry import context
    from opentelemetry.propagate import extract

    carrier = {key: str(value) for key in ("traceparent", "tracestate") if (value := lookup(key))}
    token = context.attach(extract(carrier))
    try:
        yield
    finally:
        context.detach(token)


def continued(lookup: Callable[[str], Any]) -> AbstractContextManager[Any]:
    """Makes the trace context a message arrived with (its headers read by `lookup`) current, so the
    spans of its handling continue the sender's trace."""
    if _state.tracer is None:
        return _OFF
    return _attached(lookup)


def instrument_http_client(client: T) -> T:
    """An httpx client whose requests are client spans carrying `traceparent` to the model service."""
    if _state.provider is not None:
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

        HTTPXClientInstrumentor.instrument_client(client, tracer_provider=_state.provider)
    return client


def instrument_app(app: Any) -> None:
    """Server spans for a FastAPI app, continuing the trace of an incoming `traceparent`."""
    if _state.provider is None:
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=_state.provider,
        excluded_urls=UNTRACED_URLS,
        exclude_spans=["receive", "send"],  # one span per ASGI message: a streamed answer has hundreds
    )


# --- log lines ------------------------------------------------------------------------------------


class TraceFormatter(logging.Formatter):
    """Another formatter's line with ` trace_id=… span_id=…` at the end of its first line, for records
    written inside a span."""

    def __init__(self, inner: logging.Formatter | None) -> None:
        super().__init__()
        self.inner = inner or logging.Formatter()

    def format(self, record: logging.LogRecord) -> str:
        line = self.inner.format(record)
        trace_id = getattr(record, "trace_id", "")
        if not trace_id:
            return line
        head, sep, rest = line.partition("\n")
        return f"{head} trace_id={trace_id} span_id={getattr(record, 'span_id', '')}{sep}{rest}"


def _correlate_logs() -> None:
    """Every record gets `trace_id` and `span_id` (empty outside a span) when it is made, in the thread
    that logs it; the root logger's handlers print them."""
    from opentelemetry import trace

    base = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = base(*args, **kwargs)
        ctx = trace.get_current_span().get_span_context()
        record.trace_id = format(ctx.trace_id, "032x") if ctx.is_valid else ""
        record.span_id = format(ctx.span_id, "016x") if ctx.is_valid else ""
        return record

    _state.log_factory = base
    logging.setLogRecordFactory(factory)
    for handler in logging.getLogger().handlers:
        if not isinstance(handler.formatter, TraceFormatter):
            _state.formatters.append((handler, handler.formatter))
            handler.setFormatter(TraceFormatter(handler.formatter))
