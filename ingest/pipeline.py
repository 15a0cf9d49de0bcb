"""The ingestion task body, shared by Celery workers and the embedded thread pool.

parse → chunk → embed (batches) → sparse → upsert with deterministic ids. The catalog row is the source of
truth: a document is claimed with a lease, progress is written as batches land, and the outcome is
`ready` or `failed` with a readable reason. Transient faults (index or embedder down) raise Transient so
the caller retries with backoff; the document stays `queued` meanwhile.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections import Counter
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from enclave.catalog.tables import Document, IngestionAttempt, utcnow
from enclave.documents.formats import RECORD_MEDIA_TYPE
from enclave.index.base import DOCUMENTS, ChunkPoint, document_point_id, point_id
from enclave.metrics import INGEST_OUTCOMES, INGEST_STAGE
from enclave.inference.errors import ModelUnavailable
from enclave.runtime import Runtime
from ingest.chunk import Chunk, Chunker
from ingest.parse import DocumentError, Window, explain, open_document

log = logging.getLogger(__name__)
WORKER = f"{socket.gethostname()}"


class Transient(Exception):
    """Worth retrying: a dependency is down or busy."""


class LeaseHeld(Exception):
    def __init__(self, seconds: float) -> None:
        super().__init__(f"another worker holds the lease for {seconds:.0f}s more")
        self.seconds = seconds


def _is_transient(exc: BaseException) -> bool:
    if isinstance(exc, ModelUnavailable | httpx.TransportError | ConnectionError | TimeoutError):
        return True
    name = type(exc).__name__
    return name in {"ResponseHandlingException", "UnexpectedResponse"} and "404" not in str(exc)


@dataclass
class Outcome:
    status: str
    chunks: int = 0
    error: str | None = None


def _lease_left(doc: Document, now: datetime) -> float:
    """Seconds another worker still holds this document for (0 when it is free to take)."""
    if doc.status != "processing" or doc.lease_until is None:
        return 0.0
    lease = doc.lease_until if doc.lease_until.tzinfo else doc.lease_until.replace(tzinfo=now.tzinfo)
    return max(0.0, (lease - now).total_seconds())


def _take(s: Session, rt: Runtime, doc: Document, now: datetime) -> None:
    doc.status = "processing"
    doc.attempts += 1
    doc.progress = 0.01
    doc.error = None
    doc.lease_until = now + timedelta(seconds=rt.settings.lease_s)
    s.add(IngestionAttempt(document_id=doc.id, attempt=doc.attempts, worker=WORKER))


def _claim(rt: Runtime, document_id: str) -> Document | None:
    now = utcnow()
    with rt.catalog.session() as s:
        doc = s.get(Document, document_id, with_for_update=rt.catalog.url.startswith("postgres"))
        if doc is None or doc.status in ("ready", "failed"):
            return None
        if held := _lease_left(doc, now):
            raise LeaseHeld(held)
        _take(s, rt, doc, now)
        s.flush()
        s.expunge(doc)
        return doc


def _settle(
    row: Document, att: IngestionAttempt | None, status: str, error: str | None = None, **fields: object
) -> None:
    """The outcome on the catalog row and on its current attempt; the lease ends."""
    row.status = status
    row.error = error
    row.lease_until = None
    for k, v in fields.items():
        setattr(row, k, v)
    if att is not None:
        att.status, att.error, att.finished_at = status, error, utcnow()


def _finish(rt: Runtime, doc: Document, status: str, error: str | None = None, **fields: object) -> bool:
    """Write the outcome; False if the document was deleted meanwhile."""
    with rt.catalog.session() as s:
        row = s.get(Document, doc.id)
        if row is None:
            return False
        att = s.query(IngestionAttempt).filter_by(document_id=doc.id, attempt=row.attempts).first()
        _settle(row, att, status, error, **fields)
        return True


def _progress(rt: Runtime, doc_id: str, value: float) -> bool:
    with rt.catalog.session() as s:
        row = s.get(Document, doc_id)
        if row is None:
            return False
        row.progress = min(0.99, max(row.progress, value))
        row.lease_until = utcnow() + timedelta(seconds=rt.settings.lease_s)
        return True


class _LeaseKeeper:
    """Renews the document's lease while a long parse runs, so the reconciler does not hand the same
    document to a second worker. A dead worker stops renewing, and the lease runs out as designed."""

    def __init__(self, rt: Runtime, doc_id: str) -> None:
        self.rt, self.doc_id = rt, doc_id
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"lease-{doc_id[:8]}")

    def _run(self) -> None:
        interval = max(1.0, self.rt.settings.lease_s / 3)
        while not self._stop.wait(interval):
            try:
                with self.rt.catalog.session() as s:
                    row = s.get(Document, self.doc_id)
                    if row is None or row.status != "processing":
                        return
                    row.lease_until = utcnow() + timedelta(seconds=self.rt.settings.lease_s)
            except Exception:  # the next beat tries again; the lease is a safety net, not a lock
                log.warning("could not renew the lease of %s", self.doc_id)

    def __enter__(self) -> _LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()


# Length normalisation of whole-document BM25 weights (terms); chunks use the encoder's own average.
DOCUMENT_AVG_TERMS = 1000.0


class _Summary:
    """The document-level point, built up as chunks are embedded: the centroid of the chunk embeddings and
    BM25 weights of the whole text, so search can weigh a chunk by how relevant its document is."""

    def __init__(self) -> None:
        self.dense: np.ndarray | None = None
        self.counts: Counter[int] = Counter()
        self.length = 0
        self.chunks = 0

    def add(self, dense: np.ndarray, counts: list[tuple[Counter[int], int]]) -> None:
        total = dense.sum(axis=0)
        self.dense = total if self.dense is None else self.dense + total
        for c, n in counts:
            self.counts.update(c)
            self.length += n
        self.chunks += len(counts)

    def point(self, rt: Runtime, doc: Document) -> ChunkPoint | None:
        if self.dense is None:
            return None
        centroid = self.dense / (float(np.linalg.norm(self.dense)) or 1.0)
        return ChunkPoint(
            id=document_point_id(doc.id),
            dense=centroid.tolist(),
            sparse=rt.sparse.weigh(self.counts, self.length, DOCUMENT_AVG_TERMS),
            payload={**_access_payload(doc), "title": doc.title, "chunks": self.chunks},
        )


def _access_payload(doc: Document) -> dict[str, object]:
    return {
        "tenant_id": doc.tenant_id,
        "acl": list(doc.acl or ["tenant"]),
        "document_id": doc.id,
        "collection": doc.collection,
        "filename": doc.filename,
        "external_id": doc.external_id,
    }


def _embed_and_upsert(rt: Runtime, items: list[tuple[Document, list[Chunk], int, _Summary]]) -> None:
    """Embeds the chunks of one or more documents in one call and upserts them in one write; each
    document's summary takes in its chunks. Point ids are deterministic per chunk (`first`, `first + 1`…)."""
    texts = [[c.embedding_text(doc.title) for c in chunks] for doc, chunks, _, _ in items]
    t0 = time.perf_counter()
    dense = rt.embedder.embed_documents([t for ts in texts for t in ts])
    t1 = time.perf_counter()
    points: list[ChunkPoint] = []
    at = 0
    for (doc, chunks, first, summary), ts in zip(items, texts, strict=True):
        vecs = dense[at : at + len(ts)]
        at += len(ts)
        counts = [rt.sparse.count(t) for t in ts]
        summary.add(vecs, counts)
        points += [
            ChunkPoint(
                id=point_id(doc.id, first + i),
                dense=vec.tolist(),
                sparse=rt.sparse.weigh(*tc),
                payload={
                    **_access_payload(doc),
                    "title": chunk.section or doc.title,
                    "page": chunk.page,
                    "chunk": first + i,
                    "text": chunk.text,
                },
            )
            for i, (chunk, vec, tc) in enumerate(zip(chunks, vecs, counts, strict=True))
        ]
    t2 = time.perf_counter()
    rt.index.upsert(points)
    INGEST_STAGE.labels("embed").observe(t1 - t0)
    INGEST_STAGE.labels("sparse").observe(t2 - t1)
    INGEST_STAGE.labels("index").observe(time.perf_counter() - t2)


def _upsert_summaries(rt: Runtime, items: list[tuple[Document, _Summary]]) -> None:
    points = [p for doc, summary in items if (p := summary.point(rt, doc)) is not None]
    if points:
        rt.index.upsert(points, level=DOCUMENTS)


class _Indexer:
    """Embeds and upserts one document's chunks in bounded batches."""

    def __init__(self, rt: Runtime, doc: Document) -> None:
        self.rt, self.doc = rt, doc
        self.pending: list[Chunk] = []
        self.count = 0
        self.max_page = 0
        self.summary = _Summary()

    def add(self, chunk: Chunk) -> None:
        self.pending.append(chunk)
        if chunk.page:
            self.max_page = max(self.max_page, chunk.page)
        if len(self.pending) >= self.rt.settings.embed_batch_size:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        batch, self.pending = self.pending, []
        _embed_and_upsert(self.rt, [(self.doc, batch, self.count, self.summary)])
        self.count += len(batch)


def process_document(rt: Runtime, document_id: str) -> Outcome:
    doc = _claim(rt, document_id)
    if doc is None:
        return Outcome("skipped")
    path = rt.storage.path(doc.storage_key)
    indexer = _Indexer(rt, doc)
    try:
        # A retry starts clean: points of an interrupted attempt are removed, then rewritten.
        if doc.attempts > 1:
            rt.index.delete_document(doc.tenant_id, doc.id)
        is_record = doc.media_type == RECORD_MEDIA_TYPE
        with (
            nullcontext() if is_record else rt.parse_slots,
            nullcontext() if is_record else _LeaseKeeper(rt, doc.id),
        ):
            t0 = time.perf_counter()
            pages, windows = open_document(path, doc.media_type, rt.settings.max_pages)
            chunker = Chunker(rt.settings.chunk_chars, rt.settings.chunk_overlap, rt.settings.chunk_min_chars)
            window: Window
            for window in windows:
                INGEST_STAGE.labels("parse").observe(time.perf_counter() - t0)
                for chunk in chunker.chunks(window.blocks):
                    indexer.add(chunk)
                indexer.flush()
                if window.done < 1.0 and not _progress(rt, doc.id, 0.05 + 0.9 * window.done):
                    rt.index.delete_document(doc.tenant_id, doc.id)
                    return Outcome("deleted")
                t0 = time.perf_counter()
        if indexer.count == 0:
            raise DocumentError(
                "No text was found in the document. It may be empty, contain only images (OCR is not "
                "installed here), or only whitespace."
            )
        _upsert_summaries(rt, [(doc, indexer.summary)])
    except DocumentError as exc:
        return _fail(rt, doc, str(exc))
    except Exception as exc:
        if _is_transient(exc):
            _requeue(rt, doc, f"{type(exc).__name__}: {exc}")
            raise Transient(str(exc)) from exc
        log.exception("document %s failed while parsing", doc.id)
        return _fail(rt, doc, explain(exc, doc.media_type))
    if not _finish(
        rt, doc, "ready", chunks=indexer.count, pages=pages or (indexer.max_page or None), progress=1.0
    ):
        rt.index.delete_document(doc.tenant_id, doc.id)
        return Outcome("deleted")
    INGEST_OUTCOMES.labels("ready").inc()
    if doc.supersedes:
        _retire(rt, doc)
    return Outcome("ready", chunks=indexer.count)


@dataclass
class BatchOutcome:
    outcomes: dict[str, Outcome]
    # documents for the single-document path, each after a delay in seconds (another worker holds its
    # lease, or it is a file, not a record)
    later: dict[str, float]


def process_records(rt: Runtime, document_ids: list[str]) -> BatchOutcome:
    """JSON records ingested together: claimed in one transaction, embedded in one call, upserted in one
    write, finished in one transaction. Bulk record uploads go this way; each record still ends `ready` or
    `failed` on its own, and a transient fault puts every record of the batch back to `queued`."""
    now = utcnow()
    later: dict[str, float] = {}
    docs: list[Document] = []
    with rt.catalog.session() as s:
        stmt = select(Document).where(Document.id.in_(document_ids))
        if rt.catalog.url.startswith("postgres"):
            stmt = stmt.with_for_update()
        for doc in s.scalars(stmt).all():
            if doc.status in ("ready", "failed"):
                continue
            if doc.media_type != RECORD_MEDIA_TYPE:  # files take the single-document path
                later[doc.id] = 0.0
                continue
            if left := _lease_left(doc, now):
                later[doc.id] = left
                continue
            _take(s, rt, doc, now)
            docs.append(doc)
        s.flush()
        for doc in docs:
            s.expunge(doc)
    claimed = {d.id for d in docs}
    outcomes: dict[str, Outcome] = {
        i: Outcome("skipped") for i in document_ids if i not in later and i not in claimed
    }
    if not docs:
        return BatchOutcome(outcomes, later)
    chunker = Chunker(rt.settings.chunk_chars, rt.settings.chunk_overlap, rt.settings.chunk_min_chars)
    work: list[tuple[Document, list[Chunk], int, _Summary]] = []
    try:
        t0 = time.perf_counter()
        for doc in docs:
            if doc.attempts > 1:  # a retry starts clean
                rt.index.delete_document(doc.tenant_id, doc.id)
            try:
                _, windows = open_document(
                    rt.storage.path(doc.storage_key), doc.media_type, rt.settings.max_pages
                )
                chunks = [c for w in windows for c in chunker.chunks(w.blocks)]
            except DocumentError as exc:
                outcomes[doc.id] = _fail(rt, doc, str(exc))
                continue
            except Exception as exc:
                if _is_transient(exc):
                    raise
                log.exception("record %s failed while parsing", doc.id)
                outcomes[doc.id] = _fail(rt, doc, explain(exc, doc.media_type))
                continue
            if not chunks:
                outcomes[doc.id] = _fail(
                    rt, doc, "No text was found in the record; send its content in 'text'."
                )
                continue
            work.append((doc, chunks, 0, _Summary()))
        INGEST_STAGE.labels("parse").observe(time.perf_counter() - t0)
        if work:
            _embed_and_upsert(rt, work)
            _upsert_summaries(rt, [(doc, summary) for doc, _, _, summary in work])
    except Exception as exc:
        unsettled = [d for d in docs if d.id not in outcomes]  # claimed, and not failed on their own
        if not _is_transient(exc):
            log.exception("records %s… failed", [d.id for d in unsettled[:3]])
            for doc in unsettled:
                outcomes[doc.id] = _fail(rt, doc, explain(exc, doc.media_type))
            return BatchOutcome(outcomes, later)
        for doc in unsettled:
            _requeue(rt, doc, f"{type(exc).__name__}: {exc}")
        raise Transient(str(exc)) from exc
    with rt.catalog.session() as s:
        rows = {r.id: r for r in s.scalars(select(Document).where(Document.id.in_([d.id for d, *_ in work])))}
        attempts = {
            (a.document_id, a.attempt): a
            for a in s.scalars(select(IngestionAttempt).where(IngestionAttempt.document_id.in_(list(rows))))
        }
        gone = []
        for doc, chunks, *_ in work:
            row = rows.get(doc.id)
            if row is None:  # deleted while it was being embedded
                gone.append(doc)
                outcomes[doc.id] = Outcome("deleted")
                continue
            _settle(row, attempts.get((doc.id, row.attempts)), "ready", progress=1.0, chunks=len(chunks))
            outcomes[doc.id] = Outcome("ready", chunks=len(chunks))
    for doc in gone:
        rt.index.delete_document(doc.tenant_id, doc.id)
    for doc, *_ in work:
        if outcomes[doc.id].status == "ready":
            INGEST_OUTCOMES.labels("ready").inc()
            if doc.supersedes:
                _retire(rt, doc)
    return BatchOutcome(outcomes, later)


def _fail(rt: Runtime, doc: Document, reason: str) -> Outcome:
    try:
        rt.index.delete_document(doc.tenant_id, doc.id)
    except Exception:  # the failure reason matters more than the cleanup
        log.warning("could not remove points of failed document %s", doc.id)
    _finish(rt, doc, "failed", reason, progress=1.0)
    INGEST_OUTCOMES.labels("failed").inc()
    return Outcome("failed", error=reason)


def _requeue(rt: Runtime, doc: Document, reason: str) -> None:
    with rt.catalog.session() as s:
        row = s.get(Document, doc.id)
        if row is not None:
            row.status, row.lease_until, row.error = "queued", None, f"Retrying: {reason}"[:1000]
            att = s.query(IngestionAttempt).filter_by(document_id=doc.id, attempt=row.attempts).first()
            if att is not None:
                att.status, att.error, att.finished_at = "retry", reason[:1000], utcnow()


def give_up(rt: Runtime, document_id: str, reason: str) -> None:
    """Called when retries are exhausted: the document fails with the last transient reason."""
    with rt.catalog.session() as s:
        row = s.get(Document, document_id)
        if row is not None and row.status not in ("ready", "failed"):
            row.status, row.lease_until, row.progress = "failed", None, 1.0
            row.error = f"Gave up after {row.attempts} attempts; a dependency stayed unavailable: {reason}"[
                :1000
            ]
    INGEST_OUTCOMES.labels("failed").inc()


def _retire(rt: Runtime, doc: Document) -> None:
    """The new version of an external id is ready: the old one goes."""
    with rt.catalog.session() as s:
        old = s.get(Document, doc.supersedes)
        if old is None or old.tenant_id != doc.tenant_id:
            return
        s.expunge(old)
    rt.documents.purge(old)
