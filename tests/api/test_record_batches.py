"""Bulk JSON records are ingested in groups (one embedding call, one index write, one catalog commit), and
every record still ends ready or failed on its own."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from enclave.catalog.tables import Document, IngestionAttempt, utcnow
from enclave.documents.service import Record
from enclave.inference.errors import ModelUnavailable
from ingest.pipeline import process_records
from ingest.retry import Transient
from tests.support import DOCS, Api


class HeldQueue:
    """Takes uploads and runs nothing, so the test drives the pipeline itself."""

    def enqueue(self, document_id: str) -> None:
        pass

    def enqueue_records(self, document_ids: list[str]) -> None:
        pass

    def depth(self) -> int:
        return 0

    def ping(self) -> None:
        pass

    def close(self) -> None:
        pass


class SwitchableEmbedder:
    """The real embedder, until a test swaps in a faulty one (fault injection)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def close(self) -> None:
        pass


def _quiet_runtime(make_runtime: Any, embedder: Any = None) -> tuple[Any, Any]:
    """A runtime whose uploads are not picked up by the pool, so the test drives the pipeline itself."""
    rt = make_runtime(embedder=embedder, queue=HeldQueue())
    _, issued = rt.keys.create_tenant("batches")
    return rt, rt.keys.authenticate(issued.key)


def _row(rt: Any, doc_id: str) -> Document:
    with rt.catalog.session() as s:
        row = s.get(Document, doc_id)
        s.expunge(row)
        return row


def test_each_record_of_a_group_ends_on_its_own(make_runtime: Any) -> None:
    rt, me = _quiet_runtime(make_runtime)
    records = [
        Record(f"note {i}", f"Record {i}: the quartermaster logged {i * 7} crates of tea.", None, None, {})
        for i in range(5)
    ]
    docs = [u.document for u in rt.documents.upload_records(me, records)]
    good, broken, held, done = docs[0].id, docs[1].id, docs[2].id, docs[3].id
    rt.storage.path(docs[1].storage_key).write_text("{not json")  # damaged on disk
    with rt.catalog.session() as s:
        row = s.get(Document, held)
        row.status, row.lease_until = "processing", utcnow() + timedelta(seconds=120)  # another worker's
        s.get(Document, done).status = "ready"
    file_doc = rt.documents.upload(me, "memo.txt", [(DOCS / "fake-text.txt").read_bytes()]).document

    result = process_records(rt, [d.id for d in docs] + [file_doc.id])

    assert result.outcomes[good].status == "ready" and result.outcomes[docs[4].id].status == "ready"
    assert result.outcomes[done].status == "skipped"
    assert result.outcomes[broken].status == "failed"
    assert "not a JSON object" in (_row(rt, broken).error or "")
    assert 100 < result.later[held] <= 120  # retried after the other worker's lease
    assert result.later[file_doc.id] == 0  # files take the one-document path
    assert _row(rt, held).status == "processing" and _row(rt, file_doc.id).status == "queued"
    for doc_id in (good, docs[4].id):
        row = _row(rt, doc_id)
        assert (row.status, row.progress, row.lease_until) == ("ready", 1.0, None)
        assert row.chunks == rt.index.count_document(me.tenant_id, doc_id) == 1
    assert rt.index.count_document(me.tenant_id, broken) == 0
    with rt.catalog.session() as s:
        attempts = {a.document_id: a.status for a in s.query(IngestionAttempt).all()}
    assert attempts == {good: "ready", docs[4].id: "ready", broken: "failed"}
    hits = rt.search.search(me, "how many crates of tea did the quartermaster log in record 4", top_k=1)
    assert hits[0].document_id == docs[4].id


def test_a_transient_fault_puts_the_whole_group_back_in_the_queue(
    make_runtime: Any, local_embedder: Any
) -> None:
    switch = SwitchableEmbedder(local_embedder)
    rt, me = _quiet_runtime(make_runtime, switch)
    records = [Record(f"r{i}", f"Harbour report {i}: gulls counted.", None, None, {}) for i in range(3)]
    ids = [u.document.id for u in rt.documents.upload_records(me, records)]

    class DownEmbedder:  # fault injection: the embedder is unreachable
        dimension = 384

        def embed_documents(self, texts: list[str]) -> Any:
            raise ModelUnavailable("embedder", "http://127.0.0.1:9/v1", "connection refused")

    switch.inner = DownEmbedder()
    try:
        with pytest.raises(Transient):
            process_records(rt, ids)
    finally:
        switch.inner = local_embedder
    for doc_id in ids:
        row = _row(rt, doc_id)
        assert row.status == "queued" and row.lease_until is None and "Retrying" in (row.error or "")
        assert rt.index.count_document(me.tenant_id, doc_id) == 0

    # the embedder is back: the retry ingests every record exactly once
    result = process_records(rt, ids)
    assert {o.status for o in result.outcomes.values()} == {"ready"}
    assert all(rt.index.count_document(me.tenant_id, i) == _row(rt, i).chunks == 1 for i in ids)
    assert all(_row(rt, i).attempts == 2 for i in ids)


def test_a_bulk_upload_larger_than_a_group_is_indexed_exactly_once(tenant: Api, embedded: Api) -> None:
    rt = embedded.runtime  # type: ignore[attr-defined]
    batch = [
        {"title": f"ledger {i}", "text": f"Ledger page {i} lists {i} barrels of cider. " * (1 + i % 40)}
        for i in range(75)  # three groups of up to 32
    ]
    docs = tenant.post("/v1/documents/text", json=batch).json()["documents"]
    done = tenant.wait_done([d["id"] for d in docs])
    assert {d["status"] for d in done.values()} == {"ready"}
    for doc_id, doc in done.items():
        assert doc["chunks"] >= 1
        assert rt.index.count_document(tenant.tenant_id, doc_id) == doc["chunks"]  # type: ignore[attr-defined]
    assert any(d["chunks"] > 1 for d in done.values())


def test_a_transient_fault_midway_through_parsing_requeues_every_claimed_record(make_runtime: Any) -> None:
    rt, me = _quiet_runtime(make_runtime)
    records = [Record(f"r{i}", f"Lock keeper's log {i}: barges passed.", None, None, {}) for i in range(3)]
    docs = [u.document for u in rt.documents.upload_records(me, records)]
    real_path = rt.storage.path

    def flaky_path(key: str) -> Any:  # fault injection: the file store drops out at the second record
        if key == docs[1].storage_key:
            raise ConnectionError("storage unreachable")
        return real_path(key)

    rt.storage.path = flaky_path
    try:
        with pytest.raises(Transient):
            process_records(rt, [d.id for d in docs])
    finally:
        rt.storage.path = real_path
    for doc in docs:  # the ones after the fault too: none is left `processing` under a lease
        row = _row(rt, doc.id)
        assert (row.status, row.lease_until) == ("queued", None) and "storage unreachable" in (
            row.error or ""
        )
    assert {o.status for o in process_records(rt, [d.id for d in docs]).outcomes.values()} == {"ready"}


def test_an_unexpected_fault_fails_the_group_with_a_reason_instead_of_leaving_it_processing(
    make_runtime: Any, local_embedder: Any
) -> None:
    switch = SwitchableEmbedder(local_embedder)
    rt, me = _quiet_runtime(make_runtime, switch)
    records = [Record(f"r{i}", f"Mill ledger {i}: flour sacks.", None, None, {}) for i in range(2)]
    ids = [u.document.id for u in rt.documents.upload_records(me, records)]

    class BrokenEmbedder:  # fault injection: a bug, not an outage
        dimension = 384

        def embed_documents(self, texts: list[str]) -> Any:
            raise ValueError("tensor shape mismatch")

    switch.inner = BrokenEmbedder()
    try:
        result = process_records(rt, ids)
    finally:
        switch.inner = local_embedder
    assert {o.status for o in result.outcomes.values()} == {"failed"}
    for doc_id in ids:
        row = _row(rt, doc_id)
        assert (
            row.status == "failed"
            and row.lease_until is None
            and "tensor shape mismatch" in (row.error or "")
        )
