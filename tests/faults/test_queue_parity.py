"""The same fault ends the same way in embedded mode (the local pool) and distributed mode (Celery on
Redis): one parametrised test runs every fault against both queues.

The Celery side is a real worker (solo pool, in this process so the faults can be injected) consuming a
queue of its own on the machine's Redis; the local side is the pool `enclave serve` runs.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from boot.assembly import Mode, build_runtime
from enclave.catalog.tables import Document
from enclave.documents.lifecycle import TERMINAL
from enclave.index.edge import EdgeIndex
from enclave.index.errors import IndexUnavailable
from enclave.runtime import Parts, Runtime
from enclave.settings import Settings
from ingest import runner
from ingest.celery_app import make_celery
from ingest.celery_queue import CeleryQueue
from tests.support import OPERATOR_KEY

TEXT = " ".join(
    f"Paragraph {i}: the lock keeper logged {i * 3} barges passing upstream today." for i in range(60)
)


class FlakyIndex:
    """FAULT INJECTION: a real Qdrant Edge index whose first `failures` writes raise IndexUnavailable."""

    def __init__(self, inner: EdgeIndex, failures: int) -> None:
        self.inner, self.failures = inner, failures

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def upsert(self, points: Any, level: str = "chunks") -> None:
        if self.failures > 0:
            self.failures -= 1
            raise IndexUnavailable("edge", "connection refused (injected)")
        self.inner.upsert(points, level)


class SlowEmbedder:
    """FAULT INJECTION: the real embedder, `delay` seconds slower per call."""

    def __init__(self, inner: Any, delay: float) -> None:
        self.inner, self.delay = inner, delay

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def embed_documents(self, texts: list[str]) -> Any:
        time.sleep(self.delay)
        return self.inner.embed_documents(texts)

    def close(self) -> None:
        pass


@dataclass
class Fault:
    index_failures: int = 0  # writes that fail before the index comes back (99: it never does)
    embed_delay: float = 0.0
    crashes: int = 0  # job runs that crash (an exception escapes the job body) before one runs normally


FAULTS = {
    "index_down_then_back": Fault(index_failures=1),
    "index_down_for_good": Fault(index_failures=99),
    "time_limit": Fault(embed_delay=0.7),
    "crash_once": Fault(crashes=1),
    "crash_every_time": Fault(crashes=99),
}
# What a user sees afterwards, whichever queue ran the job: status, words in the reason, points kept.
EXPECTED = {
    "index_down_then_back": ("ready", None, "all"),
    "index_down_for_good": ("failed", "Gave up after 2 attempts; a dependency stayed unavailable", 0),
    "time_limit": ("failed", "longer than the 1s limit", 0),
    "crash_once": ("ready", None, "all"),
    "crash_every_time": ("failed", "crashed 2 times", 0),
}


@contextmanager
def _runtime(kind: str, tmp_path: Path, redis_url: str, parts: Parts, **overrides: Any) -> Iterator[Runtime]:
    settings = Settings(
        data_dir=tmp_path / "data",
        operator_key=OPERATOR_KEY,
        broker_url=redis_url if kind == "celery" else "",
        ingest_threads=2,
        task_max_retries=1,
        embed_batch_size=4,
        chunk_chars=400,
        chunk_overlap=0,
        chunk_min_chars=0,
        **overrides,
    )
    if kind == "local":
        rt = build_runtime(settings, Mode.EMBEDDED, parts)
        try:
            yield rt
        finally:
            rt.close()
        return
    from celery.contrib.testing.worker import start_worker

    made: list[Runtime] = []
    app = make_celery(settings, runtime=lambda: made[0], queue=f"enclave.test.{uuid.uuid4().hex[:8]}")
    rt = build_runtime(settings, Mode.GATEWAY, parts, queue=CeleryQueue(app))
    made.append(rt)
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
            yield rt
    finally:
        rt.close()


def _wait_terminal(rt: Runtime, doc_id: str, timeout: float = 90) -> Document:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with rt.catalog.session() as s:
            row = s.get(Document, doc_id)
            assert row is not None
            if row.status in TERMINAL:
                s.expunge(row)
                return row
        time.sleep(0.1)
    raise AssertionError(f"document {doc_id} did not finish within {timeout}s")


@pytest.mark.parametrize("fault_name", list(FAULTS))
@pytest.mark.parametrize("kind", ["local", "celery"])
def test_a_fault_ends_the_same_way_on_both_queues(
    kind: str,
    fault_name: str,
    tmp_path: Path,
    redis_url: str,
    local_embedder: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fault = FAULTS[fault_name]
    edge = EdgeIndex(tmp_path / "index" / "chunks")
    edge.ensure_collection(384)
    embedder = SlowEmbedder(local_embedder, fault.embed_delay)
    crashes = {"left": fault.crashes}
    real_process = runner.process_document

    def crashing_process(rt: Runtime, document_id: str) -> Any:
        if crashes["left"] > 0:  # the job dies after claiming its document, as a worker crash would
            crashes["left"] -= 1
            rt.lifecycle.claim(document_id)
            raise RuntimeError("segfault in a parser (injected)")
        return real_process(rt, document_id)

    monkeypatch.setattr(runner, "process_document", crashing_process)
    overrides = {"task_time_limit_s": 1} if fault_name == "time_limit" else {}
    parts = Parts(embedder=embedder, index=FlakyIndex(edge, fault.index_failures))
    with _runtime(kind, tmp_path, redis_url, parts, **overrides) as rt:
        _, issued = rt.keys.create_tenant(f"parity-{kind}")
        me = rt.keys.authenticate(issued.key)
        doc = rt.documents.upload(me, "locks.txt", [TEXT.encode()]).document
        row = _wait_terminal(rt, doc.id)
        time.sleep(0.2)  # a follow-up that should not exist would have run by now
        points = edge.count_document(me.tenant_id, doc.id)

    status, reason, kept = EXPECTED[fault_name]
    assert row.status == status, row.error
    assert row.lease_until is None
    if reason:
        assert reason in (row.error or ""), row.error
    if kept == "all":
        assert row.chunks and row.chunks > 1 and points == row.chunks  # every chunk once, none twice
    else:
        assert points == kept
