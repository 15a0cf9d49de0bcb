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
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import timedelta

import httpx

from enclave.catalog.models import Document, IngestionAttempt, utcnow
from enclave.documents.formats import RECORD_MEDIA_TYPE
from enclave.index.base import ChunkPoint, point_id
from enclave.metrics import INGEST_OUTCOMES, INGEST_STAGE
from enclave.models.errors import ModelUnavailable
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


def _claim(rt: Runtime, document_id: str) -> Document | None:
    now = utcnow()
    with rt.catalog.session() as s:
        doc = s.get(Document, document_id, with_for_update=rt.catalog.url.startswith("postgres"))
        if doc is None or doc.status in ("ready", "failed"):
            return None
        if doc.status == "processing" and doc.lease_until is not None:
            lease = doc.lease_until if doc.lease_until.tzinfo else doc.lease_until.replace(tzinfo=now.tzinfo)
            if lease > now:
                raise LeaseHeld((lease - now).total_seconds())
        doc.status = "processing"
        doc.attempts += 1
        doc.progress = 0.01
        doc.error = None
        doc.lease_until = now + timedelta(seconds=rt.settings.lease_s)
        s.add(IngestionAttempt(document_id=doc.id, attempt=doc.attempts, worker=WORKER))
        s.flush()
        s.expunge(doc)
        return doc


def _finish(rt: Runtime, doc: Document, status: str, error: str | None = None, **fields: object) -> bool:
    """Write the outcome; False if the document was deleted meanwhile."""
    with rt.catalog.session() as s:
        row = s.get(Document, doc.id)
        if row is None:
            return False
        row.status = status
        row.error = error
        row.lease_until = None
        for k, v in fields.items():
            setattr(row, k, v)
        att = s.query(IngestionAttempt).filter_by(document_id=doc.id, attempt=row.attempts).first()
        if att is not None:
            att.status, att.error, att.finished_at = status, error, utcnow()
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


class _Indexer:
    """Embeds and upserts chunks in bounded batches."""

    def __init__(self, rt: Runtime, doc: Document) -> None:
        self.rt, self.doc = rt, doc
        self.pending: list[Chunk] = []
        self.count = 0
        self.max_page = 0

    def add(self, chunk: Chunk) -> None:
        self.pending.append(chunk)
        if len(self.pending) >= self.rt.settings.embed_batch_size:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        batch, self.pending = self.pending, []
        texts = [c.embedding_text(self.doc.title) for c in batch]
        t0 = time.perf_counter()
        dense = self.rt.embedder.embed_documents(texts)
        t1 = time.perf_counter()
        points = []
        for i, (chunk, text, vec) in enumerate(zip(batch, texts, dense, strict=True)):
            n = self.count + i
            points.append(
                ChunkPoint(
                    id=point_id(self.doc.id, n),
                    dense=vec.tolist(),
                    sparse=self.rt.sparse.encode_document(text),
                    payload={
                        "tenant_id": self.doc.tenant_id,
                        "acl": list(self.doc.acl or ["tenant"]),
                        "document_id": self.doc.id,
                        "collection": self.doc.collection,
                        "filename": self.doc.filename,
                        "external_id": self.doc.external_id,
                        "title": chunk.section or self.doc.title,
                        "page": chunk.page,
                        "chunk": n,
                        "text": chunk.text,
                    },
                )
            )
            if chunk.page:
                self.max_page = max(self.max_page, chunk.page)
        t2 = time.perf_counter()
        self.rt.index.upsert(points)
        INGEST_STAGE.labels("embed").observe(t1 - t0)
        INGEST_STAGE.labels("sparse").observe(t2 - t1)
        INGEST_STAGE.labels("index").observe(time.perf_counter() - t2)
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
            chunker = Chunker(rt.settings.chunk_chars, rt.settings.chunk_overlap)
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
