"""OpenTelemetry tracing across real processes: a chat request is one trace from the gateway through the
embedder service, the index and the LLM; an uploaded document is one trace from the upload request through
the Celery message to the worker's parse, chunk, embed and index stages, and the embedder they call.

The gateway runs in this process and keeps its spans in the SDK's InMemorySpanExporter; the embedder
service and the Celery worker are real processes exporting over OTLP/HTTP to an in-process collector
(tests/otlp_collector.py). The llama.cpp server is not ours and exports nothing: its side of the trace is
the gateway's client span."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from enclave import tracing
from tests.conftest import REDIS_BASE
from tests.otlp_collector import Collector, SpanRecord, ancestors, by_id, from_sdk, otlp_collector
from tests.procs import Server, embedder_process, llama_server
from tests.support import OPERATOR_KEY, Api, kill_group, start, wait_until

pytestmark = pytest.mark.integration

FAST_EXPORT = {"OTEL_BSP_SCHEDULE_DELAY": "100"}  # ms between the batch exports of the other processes
TRACES_BROKER = f"{REDIS_BASE}/13"  # a queue of its own: no other test's worker takes these tasks
MEMO = "Harbour log: the heron counted thirty-one fish at the north pier on Tuesday morning."


@pytest.fixture(scope="module")
def collector() -> Iterator[Collector]:
    with otlp_collector() as c:
        yield c


@pytest.fixture(scope="module")
def embedder(collector: Collector) -> Iterator[Server]:
    """The embedder service, exporting its spans to the collector."""
    with embedder_process(env={"OTEL_EXPORTER_OTLP_ENDPOINT": collector.url, **FAST_EXPORT}) as s:
        yield s


@pytest.fixture
def gateway_spans() -> Iterator[InMemorySpanExporter]:
    """Tracing on in this process (the gateway), its spans kept in memory; off again afterwards."""
    exporter = InMemorySpanExporter()
    assert tracing.configure_tracing("gateway", SimpleSpanProcessor(exporter))
    yield exporter
    tracing.shutdown()
    assert not tracing.enabled()


def _memo(tmp_path: Path) -> Path:
    path = tmp_path / "harbour-log.txt"
    path.write_text(MEMO)
    return path


def _trace_of(root: SpanRecord, *sources: list[SpanRecord]) -> list[SpanRecord]:
    return [s for spans in sources for s in spans if s.trace_id == root.trace_id]


def _one(spans: list[SpanRecord], pred: Callable[[SpanRecord], bool], what: str) -> SpanRecord:
    found = [s for s in spans if pred(s)]
    assert found, f"no {what} among {[(s.service, s.name, s.kind) for s in spans]}"
    return found[0]


def _under(span: SpanRecord, ancestor: SpanRecord, spans: list[SpanRecord]) -> bool:
    return ancestor in ancestors(span, by_id(spans))


def _client_span_under(span: SpanRecord, spans: list[SpanRecord]) -> SpanRecord:
    return _one(spans, lambda s: s.kind == "client" and s.parent_id == span.span_id, f"client under {span}")


def _embedder_server_span(collector: Collector, client: SpanRecord) -> SpanRecord:
    """The embedder service's span of the request that `client` sent (its exports arrive in batches)."""
    found: list[SpanRecord] = []

    def arrived() -> bool:
        found[:] = [s for s in collector.received() if s.parent_id == client.span_id]
        return bool(found)

    wait_until(arrived, 30, "the embedder service's span to reach the collector")
    return found[0]


def _check_chat_trace(spans: list[SpanRecord], collector: Collector) -> None:
    root = _one(spans, lambda s: s.kind == "server" and "/v1/chat/completions" in s.name, "chat server span")
    assert root.parent_id == "" and root.service == "gateway"
    trace = _trace_of(root, spans)
    embed = _one(trace, lambda s: s.name == "embed", "embed span")
    index = _one(trace, lambda s: s.name == "index.query", "index.query span")
    llm = _one(trace, lambda s: s.name == "llm", "llm span")
    for stage in (embed, index, llm):
        assert _under(stage, root, trace), f"{stage.name} is not under the request's span"
    llm_call = _client_span_under(llm, trace)
    assert llm_call.attributes.get("url.full", llm_call.attributes.get("http.url", "")).endswith(
        "/chat/completions"
    )
    embed_call = _client_span_under(embed, trace)
    served = _embedder_server_span(collector, embed_call)
    assert (served.service, served.kind, served.trace_id) == ("embedder", "server", root.trace_id)
    assert "/v1/embeddings" in served.name


@pytest.mark.llm
@pytest.mark.timeout(300)
def test_a_chat_request_is_one_trace_through_embedder_index_and_llm(
    embedder: Server,
    collector: Collector,
    gateway_spans: InMemorySpanExporter,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from boot.assembly import Mode, build_runtime
    from enclave.settings import Settings
    from gateway.app import create_app

    caplog.set_level(logging.INFO)
    with llama_server(alias="smollm2", n_ctx=2048) as llm:
        settings = Settings(
            data_dir=tmp_path / "data",
            operator_key=OPERATOR_KEY,
            broker_url="",
            embedder_url=embedder.v1,
            llm_url=llm.v1,
            llm_model="smollm2",
            llm_timeout_s=120,
            answer_min_score=0.0,
        )
        rt = build_runtime(settings, Mode.EMBEDDED)
        try:
            with TestClient(create_app(rt)) as http:
                api = Api(http, None)
                api = api.with_key(api.create_tenant(f"t-{uuid.uuid4().hex[:6]}")["admin_key"])
                doc = api.upload_text(MEMO, title="harbour log")
                assert api.wait_done([doc["id"]], timeout=120)[doc["id"]]["status"] == "ready"
                spans = from_sdk(gateway_spans.get_finished_spans())
                upload = _one(spans, lambda s: s.name.startswith("POST /v1/documents/text"), "upload")
                job = _one(spans, lambda s: s.name == "ingest.records", "the local pool's job span")
                assert _under(job, upload, spans)  # the pool carries the upload's context to its thread
                gateway_spans.clear()
                question = {"role": "user", "content": "How many fish did the heron count?"}
                body = {"model": "enclave", "messages": [question], "max_tokens": 12, "temperature": 0}
                r = api.post("/v1/chat/completions", json=body)
                assert r.status_code == 200, r.text
                _check_chat_trace(from_sdk(gateway_spans.get_finished_spans()), collector)

                gateway_spans.clear()  # a streamed answer too: its LLM span lasts the whole stream
                with api.http.stream(
                    "POST", "/v1/chat/completions", json={**body, "stream": True}, headers=api.headers
                ) as streamed:
                    assert streamed.status_code == 200
                    assert "data: [DONE]" in streamed.read().decode()
                _check_chat_trace(from_sdk(gateway_spans.get_finished_spans()), collector)
        finally:
            rt.close()
    assert not [r for r in caplog.records if "Failed to detach context" in r.getMessage()]


@pytest.fixture
def traced_env(pg_url: str, fake_qdrant: str, embedder: Server, tmp_path: Path) -> dict[str, str]:
    import redis

    redis.Redis.from_url(TRACES_BROKER).flushdb()
    return {
        "ENCLAVE_DATA_DIR": str(tmp_path / "data"),
        "ENCLAVE_DATABASE_URL": pg_url,
        "ENCLAVE_BROKER_URL": TRACES_BROKER,
        "ENCLAVE_INDEX_BACKEND": "qdrant",
        "ENCLAVE_QDRANT_URL": fake_qdrant,
        "ENCLAVE_EMBEDDER_URL": embedder.v1,
        "ENCLAVE_OPERATOR_KEY": OPERATOR_KEY,
        "ENCLAVE_LOG_LEVEL": "INFO",
    }


def _worker_spans(collector: Collector, trace_id: str) -> list[SpanRecord]:
    found: list[SpanRecord] = []

    def arrived() -> bool:
        spans = [s for s in collector.received() if s.trace_id == trace_id]
        found[:] = spans
        names = {s.name for s in spans if s.service == "worker"}
        return {"ingest.document", "parse", "chunk", "embed", "index.upsert"} <= names

    wait_until(arrived, 30, "the worker's spans to reach the collector")
    return found


@pytest.mark.timeout(300)
def test_an_uploaded_document_is_one_trace_from_the_upload_through_the_celery_worker(
    traced_env: dict[str, str],
    collector: Collector,
    gateway_spans: InMemorySpanExporter,
    tmp_path: Path,
) -> None:
    from boot.assembly import Mode, build_runtime
    from enclave.settings import Settings
    from gateway.app import create_app

    settings = Settings(**{k.removeprefix("ENCLAVE_").lower(): v for k, v in traced_env.items()})
    rt = build_runtime(settings, Mode.GATEWAY)
    env = {**traced_env, "OTEL_EXPORTER_OTLP_ENDPOINT": collector.url, **FAST_EXPORT}
    log = tmp_path / "worker.log"
    worker = start(["-m", "boot.cli", "worker", "--concurrency", "1", "--hostname", "traced@%h"], env, log)
    try:
        with TestClient(create_app(rt)) as http:
            api = Api(http, None)
            api = api.with_key(api.create_tenant(f"t-{uuid.uuid4().hex[:6]}")["admin_key"])
            doc = api.upload(_memo(tmp_path))[0]
            assert api.wait_done([doc["id"]], timeout=120)[doc["id"]]["status"] == "ready"
    finally:
        rt.close()
    try:
        gateway = from_sdk(gateway_spans.get_finished_spans())
        upload = _one(
            gateway, lambda s: s.kind == "server" and s.name.startswith("POST /v1/documents"), "upload"
        )
        send = _one(gateway, lambda s: s.name == "send ingest.document", "the Celery send span")
        assert send.kind == "producer" and send.trace_id == upload.trace_id and _under(send, upload, gateway)

        spans = gateway + _worker_spans(collector, upload.trace_id)
        task = _one(spans, lambda s: s.service == "worker" and s.name == "ingest.document", "task span")
        assert task.parent_id == send.span_id  # the context came through the Celery message
        assert task.attributes["enclave.document_ids"] == [doc["id"]]
        for name in ("parse", "chunk", "embed", "index.upsert"):
            stage = _one(spans, lambda s, n=name: s.service == "worker" and s.name == n, name)
            assert ancestors(stage, by_id(spans))[-1] == upload, f"{name} does not lead to the upload"
            assert _under(stage, task, spans)
        embed = _one(spans, lambda s: s.service == "worker" and s.name == "embed", "embed")
        served = _embedder_server_span(collector, _client_span_under(embed, collector.received()))
        assert served.service == "embedder" and served.trace_id == upload.trace_id

        # The worker's log line of that document carries the trace id.
        ready = [line for line in log.read_text().splitlines() if f"document {doc['id']} ready" in line]
        assert ready and f"trace_id={upload.trace_id}" in ready[0], log.read_text()[-3000:]
    finally:
        kill_group(worker)
